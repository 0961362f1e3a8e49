import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** cdk-nag's finding for a statement on every resource. */
export const ANY_RESOURCE = 'Resource::*';

/**
 * cdk-nag's finding for a statement on `resource` (which holds a wildcard) of this stack's
 * account and region, as cdk-nag flattens `arn:${Partition}:service:${Region}:${Account}:resource`.
 *
 * @example
 * accountResource('ecr', 'repository/*') // 'Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*'
 */
export function accountResource(service: string, resource: string): string {
  return `Resource::arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
}

/**
 * Acknowledges the granular `AwsSolutions-IAM5` findings `findings` (each exactly as cdk-nag names
 * it: in cdk-nag 3 a plain `AwsSolutions-IAM5` does not cover them) on `scope` and below, with
 * the reason a reviewer reads. Only the findings named here are acknowledged: a new wildcard
 * anywhere else still fails the synth.
 */
export function acknowledgeWildcards(scope: IConstruct, findings: readonly string[], reason: string): void {
  for (const finding of new Set(findings)) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}
