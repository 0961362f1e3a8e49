import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { ANY_RESOURCE, accountResource, acknowledgeWildcards } from './nag';

function accountArn(service: string, resource: string): string {
  return `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
}

/**
 * Lets `role` read which images ECS and Lambda of this account and region run (the `awsUsage`
 * protection: `lambdas/adapters/ecs-usage.ts`, `lambda-usage.ts`), with the calls README.md lists
 * under `--aws-usage` and nothing else. Every action is List or Read. Where IAM can scope an action
 * to resources it is scoped (services, tasks, functions of this account and region); the rest
 * support no resource-level permission.
 */
export function grantAwsUsageRead(role: iam.IRole & IConstruct): void {
  // No resource type in the Service Authorization Reference: "*" is the only valid Resource.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['ecs:ListClusters', 'ecs:DescribeTaskDefinition', 'lambda:ListFunctions'],
      resources: ['*'],
    }),
  );
  // Listing a whole cluster is authorised on "*"; the cluster is named by the ecs:cluster key.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['ecs:ListServices', 'ecs:ListTasks'],
      resources: ['*'],
      conditions: { ArnLike: { 'ecs:cluster': accountArn('ecs', 'cluster/*') } },
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['ecs:DescribeServices', 'ecs:DescribeTasks', 'ecs:DescribeServiceRevisions'],
      resources: [
        accountArn('ecs', 'service/*'),
        accountArn('ecs', 'task/*'),
        accountArn('ecs', 'service-revision/*'),
      ],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['lambda:ListVersionsByFunction', 'lambda:ListAliases', 'lambda:GetFunction'],
      resources: [accountArn('lambda', 'function:*')],
    }),
  );
  acknowledgeWildcards(
    role,
    [ANY_RESOURCE],
    'Read-only discovery of what runs, so that no image in use is deleted: ecs:ListClusters, ' +
      'ecs:DescribeTaskDefinition and lambda:ListFunctions support no resource-level permission (the ' +
      'Service Authorization Reference lists no resource type for them); ecs:ListServices and ' +
      'ecs:ListTasks are authorised on "*" when they list a whole cluster and are limited by an ' +
      'ecs:cluster condition to the clusters of this account and region.',
  );
  acknowledgeWildcards(
    role,
    [
      accountResource('ecs', 'service/*'),
      accountResource('ecs', 'task/*'),
      accountResource('ecs', 'service-revision/*'),
      accountResource('lambda', 'function:*'),
    ],
    'Read-only: every ECS service (with its current service revisions) and task and every Lambda function (with its versions and aliases) of ' +
      'this account and region must be described, since any of them may run an image of the registry; ' +
      'the janitor cannot know their names in advance. No write action is granted.',
  );
}
