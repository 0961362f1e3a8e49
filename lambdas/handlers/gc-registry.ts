import { ECRClient } from '@aws-sdk/client-ecr';
import { EcrRegistry } from '../adapters/ecr-registry';
import { UsageError } from '../core/errors';
import type { Registry } from '../core/ports';
import type { GcFlags } from './gc-command';

/**
 * The registry a `gc` run talks to: ECR through the AWS SDK's default chains (region from
 * `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile). Throws `UsageError` (exit 2)
 * for flags that cannot work together, before anything is touched.
 */
export async function registryFromFlags(flags: GcFlags, env: NodeJS.ProcessEnv): Promise<Registry> {
  if (flags.registry !== undefined) {
    throw new UsageError(
      '--registry (OCI Distribution registries) is not available in this version; use ECR',
    );
  }
  if (!flags.repo || flags.repo.length === 0) {
    throw new UsageError('--repo NAME is required with ECR (repeat it for several repositories)');
  }
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const client = new ECRClient(region ? { region } : {});
  let resolved: string;
  try {
    resolved = await client.config.region();
  } catch {
    throw new UsageError('no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)');
  }
  return new EcrRegistry({ client, region: resolved });
}
