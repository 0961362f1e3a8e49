import { UsageError } from '../core/errors';
import type { Sighting } from '../core/model';
import type { Registry } from '../core/ports';
import type { GcFlags } from './gc-command';

/**
 * What `--aws-usage` adds to a `gc` run: a reader of the images that ECS and Lambda use, run
 * before anything is listed; undefined without the flag. Throws `UsageError` (exit 2) when the
 * flag cannot apply.
 */
export function usageFromFlags(
  flags: GcFlags,
  _registry: Registry,
  _env: NodeJS.ProcessEnv,
): (() => Promise<readonly Sighting[]>) | undefined {
  if (!flags.awsUsage) return undefined;
  throw new UsageError('--aws-usage is not available in this version: nothing was touched');
}
