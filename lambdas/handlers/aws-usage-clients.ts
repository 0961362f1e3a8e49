import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { readAwsUsage } from '../adapters/aws-usage';
import type { Sighting } from '../core/model';

/**
 * The images ECS and Lambda use in `region`, with clients from the SDK's default chains. Its own
 * module (and its own bundle in dist/): only `gc --aws-usage` loads two more SDK clients.
 */
export function readAwsUsageIn(region: string, now: Date): Promise<Sighting[]> {
  return readAwsUsage({ ecs: new ECSClient({ region }), lambda: new LambdaClient({ region }), now });
}
