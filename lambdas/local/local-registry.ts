import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { readAwsUsage } from '../adapters/aws-usage';
import { EcrRegistry } from '../adapters/ecr-registry';
import { lookupCredentials } from '../adapters/oci-credentials';
import { OciRegistry } from '../adapters/oci-registry';
import type { Sighting } from '../core/model';
import type { Registry } from '../core/ports';
import { environmentRegion } from '../handlers/gc-registry';
import type { RegistrySetting } from './serve-config';

/** A registry that cannot be reached: `serve` still starts, and each scan records why. */
class UnavailableRegistry implements Registry {
  readonly listsEveryManifest = true;
  constructor(
    readonly label: string,
    private readonly reason: string,
  ) {}
  async hosts(): Promise<readonly string[]> {
    return [];
  }
  listRepositories(): Promise<readonly string[]> {
    return Promise.reject(new Error(this.reason));
  }
  listImages(): Promise<never> {
    return Promise.reject(new Error(this.reason));
  }
  deleteImages(): Promise<never> {
    return Promise.reject(new Error(this.reason));
  }
}

/** The registry `serve` scans, and the ECS/Lambda usage reader when asked for and on ECR. */
export async function localRegistry(
  setting: RegistrySetting,
  awsUsage: boolean,
  env: NodeJS.ProcessEnv,
): Promise<{ registry: Registry; usage?: (now: Date) => Promise<readonly Sighting[]> }> {
  if ('url' in setting) {
    const url = new URL(setting.url);
    return { registry: new OciRegistry({ url, ...lookupCredentials(url.host, env) }) };
  }
  const region = setting.ecr.region ?? environmentRegion(env);
  const client = new ECRClient(region ? { region } : {});
  let resolved: string;
  try {
    resolved = await client.config.region();
  } catch (error) {
    const reason =
      region === undefined
        ? 'no AWS region: set AWS_REGION, or registry.ecr.region in --config, or use an OCI registry (registry.url)'
        : `'${region}' is not an AWS region: ${(error as Error).message}`;
    return {
      registry: new UnavailableRegistry(`ECR (${region === undefined ? 'no region' : 'bad region'})`, reason),
    };
  }
  const registry = new EcrRegistry({ client, region: resolved });
  if (!awsUsage) return { registry };
  const clients = {
    ecs: new ECSClient({ region: resolved }),
    lambda: new LambdaClient({ region: resolved }),
    events: new EventBridgeClient({ region: resolved }),
    scheduler: new SchedulerClient({ region: resolved }),
  };
  return { registry, usage: (now) => readAwsUsage({ ...clients, now }) };
}
