import { readFileSync } from 'node:fs';
import { Cron } from 'croner';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { PolicyError, UsageError } from '../core/errors';
import { stableHash } from '../core/hash';
import { parseScanConfig, type ScanConfig } from '../core/scan-config';
import { parseRegistryUrl } from '../handlers/gc-registry';

/** Twice a day, as the deployed scanner. */
export const DEFAULT_SCHEDULE = '0 6,18 * * *';

/**
 * `{ ecr: {...} }` or `{ url }`, one of them: an object whose unknown or doubled key is named
 * (a union would say only "Invalid input" for `{ ulr: ... }`).
 */
const registrySchema = z
  .object({
    ecr: z
      .object({
        region: z
          .string()
          .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'an AWS region, such as eu-west-1')
          .optional(),
      })
      .strict()
      .optional(),
    url: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict()
  .refine((registry) => (registry.ecr === undefined) !== (registry.url === undefined), {
    message: 'give either ecr: { region } or url: https://host[:port], not both or neither',
  })
  .transform((registry): { readonly ecr: { readonly region?: string } } | { readonly url: string } => {
    if (registry.url !== undefined) return { url: registry.url };
    const region = registry.ecr?.region;
    return { ecr: region === undefined ? {} : { region } };
  });

const serveOnly = z
  .object({
    /** ECR (region from the config, else the AWS SDK's chain) or an OCI registry URL. @default ECR */
    registry: registrySchema.optional(),
    /** A cron expression (5 fields, UTC). @default twice a day */
    schedule: z.string().min(1).optional(),
    /** Also keep images that ECS and Lambda use (ECR only; needs their read permissions). @default false */
    awsUsage: z.boolean().optional(),
  })
  .loose();

export type RegistrySetting = z.infer<typeof registrySchema>;

export interface ServeConfig {
  readonly registry: RegistrySetting;
  readonly schedule: string;
  readonly awsUsage: boolean;
  readonly scan: ScanConfig;
  readonly policyHash: string;
}

/**
 * Reads `serve --config FILE` (YAML or JSON): the registry, the schedule, and the scan settings
 * (repositories, policy, overrides, notifyWhenClean, linkExpiryDays). Every problem is a
 * `UsageError` that names the file and the field. No file: every repository of the account's ECR
 * with the default policy.
 */
export function loadServeConfig(file: string | undefined): ServeConfig {
  const value = file === undefined ? {} : readConfigFile(file);
  const where = file ?? 'the default configuration';
  const parsed = serveOnly.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`,
    );
    throw new UsageError(`${where}: ${problems.join('; ')}`);
  }
  const { registry: given, schedule, awsUsage, ...scanSettings } = parsed.data;
  const registry = given && 'url' in given ? ociSetting(given.url, scanSettings, where) : given;
  if (awsUsage && registry && !('ecr' in registry))
    throw new UsageError(`${where}: awsUsage applies to ECR only`);
  let scan: ScanConfig;
  try {
    scan = parseScanConfig(scanSettings);
  } catch (error) {
    if (error instanceof PolicyError) throw new UsageError(`${where}: ${error.message}`);
    throw error;
  }
  const cron = schedule ?? DEFAULT_SCHEDULE;
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5) {
    // A sixth field would be seconds to the cron library: "* * * * * *" scans every second.
    throw new UsageError(
      `${where}: schedule '${cron}' must have 5 fields (minute hour day-of-month month day-of-week, UTC), not ${fields}`,
    );
  }
  let next: Date | null;
  try {
    const job = new Cron(cron, { paused: true, timezone: 'UTC' });
    next = job.nextRun();
    job.stop();
  } catch (error) {
    throw new UsageError(
      `${where}: schedule '${cron}' is not a cron expression (${(error as Error).message})`,
    );
  }
  if (next === null) {
    // "0 0 31 2 *": a valid expression of a day that never comes; serve would never scan.
    throw new UsageError(
      `${where}: schedule '${cron}' never fires (no such day comes): no scan would ever run`,
    );
  }
  return {
    registry: registry ?? { ecr: {} },
    schedule: cron,
    awsUsage: awsUsage ?? false,
    scan,
    policyHash: stableHash(scanSettings),
  };
}

/**
 * An OCI registry's setting: its URL checked as `gc --registry` checks it (no path: the catalog
 * is the whole registry's; no credentials: they would be echoed in errors), and no setting that
 * only ECR has, which would otherwise be ignored and widen what is managed.
 */
function ociSetting(
  value: string,
  scan: { readonly repositoryTag?: unknown; readonly policy?: unknown; readonly overrides?: unknown },
  where: string,
): RegistrySetting {
  let url: URL;
  try {
    url = parseRegistryUrl(value, 'registry.url');
  } catch (error) {
    throw new UsageError(`${where}: ${(error as Error).message}`);
  }
  if (scan.repositoryTag !== undefined) {
    throw new UsageError(
      `${where}: repositoryTag selects ECR repositories by resource tag; an OCI registry has none (list repositories instead)`,
    );
  }
  const policies = [scan.policy, ...(Array.isArray(scan.overrides) ? scan.overrides : [])];
  const lifecycle = policies.findIndex((policy) => hasLifecyclePolicy(policy));
  if (lifecycle >= 0) {
    const path = lifecycle === 0 ? 'policy' : `overrides.${lifecycle - 1}.policy`;
    throw new UsageError(
      `${where}: ${path}.lifecyclePolicy is for ECR only; it cannot be used with registry.url`,
    );
  }
  return { url: url.href };
}

/** True for a policy patch (or an override holding one) that sets `lifecyclePolicy`. */
function hasLifecyclePolicy(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if ('lifecyclePolicy' in value && value.lifecyclePolicy !== undefined) return true;
  return 'policy' in value && hasLifecyclePolicy(value.policy);
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read the configuration file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : (parseYaml(text) ?? {});
  } catch (error) {
    throw new UsageError(
      `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
}
