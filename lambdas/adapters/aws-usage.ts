import type { ECSClient } from '@aws-sdk/client-ecs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { formatImageReference } from '../core/image-ref';
import type { Sighting } from '../core/model';
import { settleAll } from './aws-usage-calls';
import { readEcsUsage } from './ecs-usage';
import { readLambdaUsage } from './lambda-usage';
import { readScheduledTasks } from './scheduled-tasks';

export { ECS_USAGE_CLUSTER, LAMBDA_USAGE_CLUSTER } from './workload-sightings';

export interface AwsUsageOptions {
  /** An ECS client for the account and region of the registry. */
  readonly ecs: ECSClient;
  /** A Lambda client for the account and region of the registry. */
  readonly lambda: LambdaClient;
  /** An EventBridge client, for the ECS tasks that rules start. */
  readonly events: EventBridgeClient;
  /** An EventBridge Scheduler client, for the ECS tasks that schedules start. */
  readonly scheduler: SchedulerClient;
  /** The `observedAt` of every sighting: the time of this reading. */
  readonly now: Date;
  /** Requests in flight at once, per service. @default 4 */
  readonly concurrency?: number;
}

/**
 * Every image that ECS and Lambda run or will run in one account and region, as sightings of
 * clusters `aws:ecs` and `aws:lambda` observed at `now` (see `readEcsUsage`, `readLambdaUsage`);
 * what ECS will run includes the task definitions that EventBridge rules and EventBridge
 * Scheduler schedules start, disabled ones too (see `readScheduledTasks`). Any service unreadable
 * (access denied, throttled beyond the SDK's retries, network, an answer that cannot be trusted) throws an `AwsUsageReadError` naming the IAM action that failed,
 * after all were tried, so that one run shows every missing permission: doubt means no deletion.
 *
 * @example
 * const sightings = await readAwsUsage({
 *   ecs: new ECSClient({ region }), lambda: new LambdaClient({ region }),
 *   events: new EventBridgeClient({ region }), scheduler: new SchedulerClient({ region }), now: new Date(),
 * });
 */
export async function readAwsUsage(options: AwsUsageOptions): Promise<Sighting[]> {
  const { now, concurrency } = options;
  const limits = concurrency === undefined ? {} : { concurrency };
  const read = await settleAll([
    readEcsUsage({
      client: options.ecs,
      now,
      ...limits,
      scheduledTasks: () =>
        readScheduledTasks({ events: options.events, scheduler: options.scheduler, ...limits }),
    }),
    readLambdaUsage({ client: options.lambda, now, ...limits }),
  ]);
  return unique(read.flat());
}

/** One sighting per workload and reference (a task definition may name one image twice). */
function unique(sightings: readonly Sighting[]): Sighting[] {
  const seen = new Set<string>();
  return sightings.filter((sighting) => {
    const key = `${sighting.cluster}\n${sighting.workload ?? ''}\n${formatImageReference(sighting.ref)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
