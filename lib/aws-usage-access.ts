import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { ANY_RESOURCE, accountResource, acknowledgeWildcards } from './nag';

function accountArn(service: string, resource: string): string {
  return `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
}

/**
 * Lets `role` read which images ECS and Lambda of this account and region run or will run (the
 * `awsUsage` protection: `lambdas/adapters/ecs-usage.ts`, `lambda-usage.ts`, and
 * `scheduled-tasks.ts` for the ECS tasks that EventBridge rules and schedules start), with the
 * calls README.md lists under `--aws-usage` and nothing else. Every action is List or Read. Where IAM can scope an action
 * to resources it is scoped (services, tasks, functions of this account and region); the rest
 * support no resource-level permission.
 */
export function grantAwsUsageRead(role: iam.IRole & IConstruct): void {
  // No resource type in the Service Authorization Reference: "*" is the only valid Resource.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        'ecs:ListClusters',
        'ecs:DescribeTaskDefinition',
        'lambda:ListFunctions',
        'events:ListEventBuses',
        'events:ListRules',
        'scheduler:ListSchedules',
      ],
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
  // A rule on the default bus is rule/NAME, one on a custom bus rule/BUS/NAME.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:ListTargetsByRule'],
      resources: [accountArn('events', 'rule/*'), accountArn('events', 'rule/*/*')],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['scheduler:GetSchedule'],
      resources: [accountArn('scheduler', 'schedule/*/*')],
    }),
  );
  acknowledgeWildcards(
    role,
    [ANY_RESOURCE],
    'Read-only discovery of what runs, so that no image in use is deleted: ecs:ListClusters, ' +
      'ecs:DescribeTaskDefinition, lambda:ListFunctions, events:ListEventBuses, events:ListRules and ' +
      'scheduler:ListSchedules support no resource-level permission (the Service Authorization ' +
      'Reference lists no resource type for them); ecs:ListServices and ' +
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
      accountResource('events', 'rule/*'),
      accountResource('events', 'rule/*/*'),
      accountResource('scheduler', 'schedule/*/*'),
    ],
    'Read-only: every ECS service (with its current service revisions) and task, every Lambda function (with its versions and aliases), ' +
      'and the targets of every EventBridge rule (on any event bus) and every EventBridge Scheduler schedule (in any group) of ' +
      'this account and region must be described, since any of them may run or start an image of the registry; ' +
      'the janitor cannot know their names in advance. No write action is granted.',
  );
}
