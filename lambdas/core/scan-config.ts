import picomatch from 'picomatch';
import * as z from 'zod';
import { PolicyError } from './errors';
import { parseLifecyclePolicy } from './lifecycle-policy';
import { DEFAULT_POLICY, type Policy, parseKeepRule, validatePolicy } from './policy';

/** How long the sighting store keeps a sighting after it was last seen. */
export const SIGHTING_RETENTION_DAYS = 90;

const policyPatch = z
  .object({
    // Sightings are kept 90 days (the store's TTL): a longer window would forget what it should remember.
    unusedDays: z
      .number()
      .min(0)
      .max(
        SIGHTING_RETENTION_DAYS,
        `at most ${SIGHTING_RETENTION_DAYS}: sightings are kept ${SIGHTING_RETENTION_DAYS} days`,
      )
      .optional(),
    minAgeDays: z.number().min(0).optional(),
    protectTags: z.array(z.string().min(1)).optional(),
    usePullTime: z.boolean().optional(),
    // As the deployed stack allows: a week of silence is the most a cluster is given.
    staleAfterHours: z.number().positive().max(168, 'at most 168 (a week)').optional(),
    keep: z.array(z.string()).optional(),
    deleteUntagged: z.boolean().optional(),
    unusedTagged: z.boolean().optional(),
    lifecyclePolicy: z.unknown().optional(),
  })
  .strict();

/** How scans run: which repositories, with which policy, overridden per repository glob. */
export const scanConfigSchema = z
  .object({
    /** Repository names or globs to manage; every repository when omitted. */
    repositories: z
      .array(z.string().min(1))
      .min(1, 'list at least one repository or glob, or leave repositories out to manage every repository')
      .optional(),
    /** Manage only repositories carrying this resource tag (ECR). */
    repositoryTag: z
      .object({ key: z.string().min(1), value: z.string() })
      .strict()
      .optional(),
    policy: policyPatch.optional(),
    overrides: z
      .array(z.object({ repositories: z.string().min(1), policy: policyPatch }).strict())
      .optional(),
    /** Also send a short digest when there is nothing to review. */
    notifyWhenClean: z.boolean().optional(),
    // Whole days, as the deployed stack has them: a fraction of a day made links that expired at once.
    linkExpiryDays: z.number().int('a whole number of days').min(1).max(30).optional(),
  })
  .strict();

export type ScanConfigInput = z.infer<typeof scanConfigSchema>;
type PolicyPatch = z.infer<typeof policyPatch>;

/** The scan configuration, parsed and compiled. */
export interface ScanConfig {
  readonly manages: (repository: string) => boolean;
  /**
   * The configured globs (`repositories`, `overrides[].repositories`) that match none of
   * `listed`: most likely a typo, which would scan nothing, or give a repository the base policy.
   */
  readonly unmatchedGlobs: (listed: readonly string[]) => string[];
  /** Only repositories with this resource tag are managed (the registry is asked for tags). */
  readonly repositoryTag?: { readonly key: string; readonly value: string };
  readonly policyFor: (repository: string) => Policy;
  readonly notifyWhenClean: boolean;
  readonly linkExpiryDays: number;
}

/**
 * The policy `serve` and the deployed scanner use when nothing is configured: every repository,
 * `unusedTagged` plus `deleteUntagged`, `minAgeDays` 3, `unusedDays` 7, stale limit 6 h.
 */
export const SCAN_DEFAULT_POLICY: Policy = {
  ...DEFAULT_POLICY,
  rules: { ...DEFAULT_POLICY.rules, unusedTagged: true, deleteUntagged: true },
};

/**
 * Validates and compiles a scan configuration; every problem is named (`overrides.1.policy.keep.0: ...`).
 *
 * @example
 * parseScanConfig({ repositories: ['team-a/*'], policy: { keep: ['build=20'] } }).policyFor('team-a/web')
 */
export function parseScanConfig(value: unknown): ScanConfig {
  const parsed = scanConfigSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`,
    );
    throw new PolicyError(`invalid configuration: ${problems.join('; ')}`, problems);
  }
  const config = parsed.data;
  const seen = new Map<string, number>();
  for (const [index, override] of (config.overrides ?? []).entries()) {
    const first = seen.get(override.repositories);
    if (first !== undefined) {
      const problem = `overrides.${index}.repositories: '${override.repositories}' is also overrides.${first}'s, which wins (the first override that matches a repository applies): merge the two`;
      throw new PolicyError(`invalid configuration: ${problem}`, [problem]);
    }
    seen.set(override.repositories, index);
  }
  const base = applyPatch(SCAN_DEFAULT_POLICY, config.policy, 'policy');
  const overrides = (config.overrides ?? []).map((override, index) => ({
    matches: picomatch(override.repositories),
    policy: applyPatch(base, override.policy, `overrides.${index}.policy`),
  }));
  const managed = config.repositories?.map((glob) => picomatch(glob));
  const globs = [...(config.repositories ?? []), ...(config.overrides ?? []).map((o) => o.repositories)];
  return {
    manages: (repository) => !managed || managed.some((match) => match(repository)),
    unmatchedGlobs: (listed) =>
      [...new Set(globs)].filter((glob) => {
        const match = picomatch(glob);
        return !listed.some((repository) => match(repository));
      }),
    ...(config.repositoryTag ? { repositoryTag: config.repositoryTag } : {}),
    policyFor: (repository) => overrides.find((override) => override.matches(repository))?.policy ?? base,
    notifyWhenClean: config.notifyWhenClean ?? false,
    linkExpiryDays: config.linkExpiryDays ?? 7,
  };
}

/**
 * `base` with `patch` applied: each key given replaces the base's, but `protectTags`, which add
 * to the base's (a protection is never taken away by an override that names others).
 */
function applyPatch(base: Policy, patch: PolicyPatch | undefined, path: string): Policy {
  if (!patch) return base;
  try {
    const { keep, deleteUntagged, unusedTagged, lifecyclePolicy, protectTags, ...numbers } = patch;
    const rules = {
      ...base.rules,
      ...(keep ? { keep: keep.map((rule, index) => keepRuleAt(rule, `keep.${index}`)) } : {}),
      ...(deleteUntagged === undefined ? {} : { deleteUntagged }),
      ...(unusedTagged === undefined ? {} : { unusedTagged }),
      ...(lifecyclePolicy === undefined
        ? {}
        : { lifecyclePolicy: parseLifecyclePolicy(JSON.stringify(lifecyclePolicy)) }),
    };
    const defined = Object.fromEntries(Object.entries(numbers).filter(([, value]) => value !== undefined));
    const protectedTags = protectTags
      ? { protectTags: [...new Set([...base.protectTags, ...protectTags])] }
      : {};
    return validatePolicy({ ...base, ...defined, ...protectedTags, rules });
  } catch (error) {
    if (error instanceof PolicyError) throw new PolicyError(`${path}: ${error.message}`, error.problems);
    throw error;
  }
}

/** A keep rule of a configuration file (`PREFIX=N`), its problem named by `where`. */
function keepRuleAt(rule: string, where: string) {
  try {
    return parseKeepRule(rule);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new PolicyError(`${where}: ${error.message.replace(/^--keep /, '')}`);
  }
}
