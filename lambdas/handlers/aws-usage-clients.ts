import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { readAwsUsage } from '../adapters/aws-usage';
import type { Sighting } from '../core/model';

/**
 * The images ECS and Lambda use in `region`, with clients from the SDK's default chains (ECS,
 * Lambda, and EventBridge and EventBridge Scheduler for the tasks they start). Its own module
 * (and its own bundle in dist/): only `gc --aws-usage` loads four more SDK clients.
 */
export function readAwsUsageIn(region: string, now: Date): Promise<Sighting[]> {
  return readAwsUsage({
    ecs: new ECSClient({ region }),
    lambda: new LambdaClient({ region }),
    events: new EventBridgeClient({ region }),
    scheduler: new SchedulerClient({ region }),
    now,
  });
}
