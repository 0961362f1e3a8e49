import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readAwsUsage } from '../adapters/aws-usage';
import { DynamoPlanStore } from '../adapters/dynamo-plan-store';
import { DynamoSightingStore } from '../adapters/dynamo-sighting-store';
import { EcrRegistry } from '../adapters/ecr-registry';
import type { Sighting } from '../core/model';
import { parseScanConfig, type ScanConfig } from '../core/scan-config';

/** What the scanner and the deleter share in AWS: the registry, the stores, the policy, the usage reader. */
export interface JanitorEnvironment {
  readonly registry: EcrRegistry;
  readonly sightings: DynamoSightingStore;
  readonly plans: DynamoPlanStore;
  readonly config: ScanConfig;
  /** The scan configuration as given (`SCAN_CONFIG`), for the plan's policy hash. */
  readonly configInput: unknown;
  readonly usage?: (now: Date) => Promise<readonly Sighting[]>;
}

/**
 * Builds the shared part of a function's deps from its environment (`TABLE_NAME`, `AWS_REGION`,
 * `SCAN_CONFIG`, `AWS_USAGE`), naming what is missing.
 */
export function janitorEnvironment(
  env: NodeJS.ProcessEnv,
  required: readonly string[] = [],
): JanitorEnvironment {
  const missing = ['TABLE_NAME', 'AWS_REGION', ...required].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`${missing.join(', ')} must be set`);
  const tableName = env.TABLE_NAME!;
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const configInput: unknown = JSON.parse(env.SCAN_CONFIG ?? '{}');
  const clients = {
    ecs: new ECSClient({}),
    lambda: new LambdaClient({}),
    events: new EventBridgeClient({}),
    scheduler: new SchedulerClient({}),
  };
  return {
    registry: new EcrRegistry({ client: new ECRClient({}), region: env.AWS_REGION! }),
    sightings: new DynamoSightingStore({ client: documents, tableName }),
    plans: new DynamoPlanStore({ client: documents, tableName }),
    config: parseScanConfig(configInput),
    configInput,
    ...(env.AWS_USAGE === 'false' ? {} : { usage: (now: Date) => readAwsUsage({ ...clients, now }) }),
  };
}
