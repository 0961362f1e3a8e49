import { EcrRegistry } from '../adapters/ecr-registry';
import { UsageError } from '../core/errors';
import type { Sighting } from '../core/model';
import type { Registry } from '../core/ports';
import type { GcFlags } from './gc-command';

/**
 * What `--aws-usage` adds to a `gc` run: a reader of the images that ECS and Lambda use in the
 * registry's account and region (with the ECS tasks that EventBridge rules and schedules start),
 * run before anything is listed; undefined without the flag.
 * Throws `UsageError` (exit 2) when the flag cannot apply: it needs ECR, whose region it reads.
 *
 * The clients take credentials, retries (`AWS_MAX_ATTEMPTS`) and endpoints from the SDK's
 * default chains, so `AWS_ENDPOINT_URL_ECS`, `AWS_ENDPOINT_URL_LAMBDA`,
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL_SCHEDULER` and `AWS_ENDPOINT_URL` are honoured
 * as for ECR.
 */
export function usageFromFlags(
  flags: GcFlags,
  registry: Registry,
  _env: NodeJS.ProcessEnv,
): ((now: Date) => Promise<readonly Sighting[]>) | undefined {
  if (!flags.awsUsage) return undefined;
  if (flags.registry !== undefined || !(registry instanceof EcrRegistry)) {
    throw new UsageError(
      '--aws-usage applies to ECR only: it reads ECS and Lambda in the account and region of the ECR registry; leave it out with --registry',
    );
  }
  const region = registry.label;
  // Loaded only with --aws-usage: a plain gc does not pay for four more SDK clients at start-up.
  return async (now) => {
    const { readAwsUsageIn } = await import('./aws-usage-clients');
    return readAwsUsageIn(region, now);
  };
}
