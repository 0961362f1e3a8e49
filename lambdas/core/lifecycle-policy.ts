/**
 * Amazon ECR lifecycle policies: parsed and validated as ECR does, and evaluated with ECR's documented
 * semantics (AWS ECR user guide, "Lifecycle policy evaluation rules"), so that `--lifecycle-policy`
 * proposes what ECR itself would expire. Pure: time is passed in.
 */
import { PolicyError } from './errors';
import { type LifecyclePolicyReading, validateLifecyclePolicyDocument } from './lifecycle-policy-validate';
import { isUnknownPushTime, type PushedAtSource } from './model';
import { compareNewestFirst } from './newest-first';

/** Which images a rule looks at, and when it expires them. */
export interface LifecycleSelection {
  /** `tagged` (with a prefix or pattern list), `untagged`, or `any` (every image). */
  readonly tagStatus: 'tagged' | 'untagged' | 'any';
  /** An image matches when every prefix starts at least one of its tags. Only with `tagged`. */
  readonly tagPrefixList?: readonly string[];
  /** An image matches when every pattern (`*` = any run of characters) matches at least one of its tags. */
  readonly tagPatternList?: readonly string[];
  readonly countType: 'imageCountMoreThan' | 'sinceImagePushed';
  /** Present (and `days`) exactly when `countType` is `sinceImagePushed`. */
  readonly countUnit?: 'days';
  /** Images to keep (`imageCountMoreThan`) or the age limit in days (`sinceImagePushed`); ≥ 1. */
  readonly countNumber: number;
}

/** One rule of an ECR lifecycle policy. */
export interface LifecycleRule {
  /** Unique; rules apply from the lowest number up. */
  readonly rulePriority: number;
  readonly description?: string;
  readonly selection: LifecycleSelection;
  readonly action: { readonly type: 'expire' };
}

/** A validated ECR lifecycle policy. */
export interface LifecyclePolicy {
  readonly rules: readonly LifecycleRule[];
}

/** What the evaluation needs to know of an image (a `RegistryImage` fits). */
export interface LifecycleImage {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt: Date;
  /** `'unknown'`: no rule expires the image (see `lifecycleOutcome`). */
  readonly pushedAtSource?: PushedAtSource | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Parses lifecycle-policy JSON (or AWS CLI `get-lifecycle-policy` output, which wraps it in
 * `lifecyclePolicyText`) and validates it as ECR does.
 *
 * @throws PolicyError listing every problem, each naming its rule (`rule 2 (rulePriority 20): ...`).
 *   Rules ECR accepts but registry-janitor cannot apply (archive storage: `sinceImagePulled`,
 *   `sinceImageTransitioned`, `transition`, `storageClass: archive`) are problems too, never ignored.
 * @example
 * const policy = parseLifecyclePolicy(
 *   '{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}',
 * );
 */
export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  const reading = readPolicyText(text);
  if (reading.ok) return reading.policy;
  const count = reading.problems.length === 1 ? '1 problem' : `${reading.problems.length} problems`;
  throw new PolicyError(
    `invalid lifecycle policy (${count}): ${reading.problems.join('; ')}`,
    reading.problems,
  );
}

/** The keys of `aws ecr get-lifecycle-policy` output. */
const CLI_OUTPUT_KEYS: ReadonlySet<string> = new Set([
  'lifecyclePolicyText',
  'registryId',
  'repositoryName',
  'lastEvaluatedAt',
]);

/** The policy JSON itself, or AWS CLI `get-lifecycle-policy` output carrying it as the string `lifecyclePolicyText`. */
function readPolicyText(text: string): LifecyclePolicyReading {
  const outer = parseJson(text, 'the lifecycle policy');
  if (!outer.ok) return outer;
  if (!isJsonObject(outer.value) || !('lifecyclePolicyText' in outer.value)) {
    return validateLifecyclePolicyDocument(outer.value);
  }
  const inner = outer.value.lifecyclePolicyText;
  const beside = Object.keys(outer.value).filter((key) => !CLI_OUTPUT_KEYS.has(key));
  if (beside.length > 0) {
    return {
      ok: false,
      problems: [
        `beside lifecyclePolicyText (aws ecr get-lifecycle-policy output) only ${[...CLI_OUTPUT_KEYS].join(', ')} may appear, not ${beside.map((key) => JSON.stringify(key)).join(', ')}`,
      ],
    };
  }
  if (typeof inner !== 'string') {
    return { ok: false, problems: ['lifecyclePolicyText must be a string holding the policy JSON'] };
  }
  const parsed = parseJson(inner, 'lifecyclePolicyText');
  return parsed.ok ? validateLifecyclePolicyDocument(parsed.value) : parsed;
}

function parseJson(
  text: string,
  what: string,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problems: string[] } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [`${what} is not valid JSON: ${reason}`] };
  }
}

function isJsonObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Returns digest → reason for every image the policy expires, with ECR's semantics: rules apply by
 * ascending `rulePriority`; each rule selects by its tag filter and counts or ages every image it
 * selects, but never expires an image that the tag filter of a higher-priority rule selected;
 * newest means latest `pushedAt`, ties broken by digest (the smaller digest counts as newer).
 * An image is expired by at most one rule. Entries come in rule order, then newest first. An
 * image whose push time is unknown (`pushedAtSource: 'unknown'`: an OCI registry's image with no
 * usable date) is never expired: it is ranked oldest, so it takes no known image's place among
 * the newest, and a rule that selects it keeps it, and shields it from later rules.
 *
 * @example
 * evaluateLifecyclePolicy(policy, images, new Date('2026-11-22T00:00:00Z'));
 * // Map { 'sha256:…' => 'lifecycle rule 1 ("keep 3 prod"): beyond the newest 3 images tagged prod*' }
 */
export function evaluateLifecyclePolicy(
  policy: LifecyclePolicy,
  images: readonly LifecycleImage[],
  now: Date,
): Map<string, string> {
  return lifecycleOutcome(policy, images, now).expired;
}

/**
 * `evaluateLifecyclePolicy`, and also what the policy keeps on purpose: `kept` maps each image
 * that some rule's tag filter selects and no rule expires to why; `priority` maps every selected
 * image (expired or kept) to the `rulePriority` of the first rule that selects it (for an expired
 * image, the rule that expires it). An image no rule selects is in none of the maps.
 *
 * @example
 * lifecycleOutcome(policy, images, now).kept.get(amd64.digest)
 * // 'selected by lifecycle rule 1 ("keep platform tags"), which does not expire it'
 */
export function lifecycleOutcome(
  policy: LifecyclePolicy,
  images: readonly LifecycleImage[],
  now: Date,
): {
  readonly expired: Map<string, string>;
  readonly kept: Map<string, string>;
  readonly priority: Map<string, number>;
} {
  const newestFirst = [...images].sort(compareNewestFirst);
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  /** digest → the highest-priority rule whose tag filter selected it. */
  const selectedBy = new Map<string, LifecycleRule>();
  const expired = new Map<string, string>();
  for (const rule of rules) {
    const matches = tagMatcher(rule.selection);
    const selected = newestFirst.filter((image) => matches(image.tags));
    for (const [image, why] of ruleExpires(rule.selection, selected, now)) {
      if (isUnknownPushTime(image.pushedAtSource, image.pushedAt.getTime())) continue;
      if (!selectedBy.has(image.digest) && !expired.has(image.digest)) {
        expired.set(image.digest, `${ruleName(rule)}: ${why}`);
      }
    }
    for (const image of selected) if (!selectedBy.has(image.digest)) selectedBy.set(image.digest, rule);
  }
  const kept = new Map<string, string>();
  const priority = new Map<string, number>();
  for (const [digest, rule] of selectedBy) {
    priority.set(digest, rule.rulePriority);
    if (!expired.has(digest)) kept.set(digest, `selected by ${ruleName(rule)}, which does not expire it`);
  }
  for (const image of images) {
    if (
      selectedBy.has(image.digest) &&
      !expired.has(image.digest) &&
      isUnknownPushTime(image.pushedAtSource, image.pushedAt.getTime())
    )
      kept.set(
        image.digest,
        `selected by ${ruleName(selectedBy.get(image.digest)!)}, which cannot age or rank it: its push time is unknown`,
      );
  }
  return { expired, kept, priority };
}

/** The rule's tag filter as a predicate over an image's tags. */
function tagMatcher(selection: LifecycleSelection): (tags: readonly string[]) => boolean {
  if (selection.tagStatus === 'any') return () => true;
  if (selection.tagStatus === 'untagged') return (tags) => tags.length === 0;
  const tests: ((tag: string) => boolean)[] = selection.tagPatternList
    ? selection.tagPatternList.map(patternTest)
    : (selection.tagPrefixList ?? []).map((prefix) => (tag: string) => tag.startsWith(prefix));
  return (tags) => tags.length > 0 && tests.every((test) => tags.some(test));
}

/** `*` matches any run of characters (also none); everything else literally; whole tag; case-sensitive. */
function patternTest(pattern: string): (tag: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 's');
  return (tag) => regex.test(tag);
}

/** The images (newest first, among those the rule selected) that the rule's count marks, with why. */
function ruleExpires(
  selection: LifecycleSelection,
  selected: readonly LifecycleImage[],
  now: Date,
): [LifecycleImage, string][] {
  const what = describeImages(selection);
  if (selection.countType === 'imageCountMoreThan') {
    const keep = selection.countNumber;
    const newest = keep === 1 ? `${what.adjective}image` : `${keep} ${what.adjective}images`;
    const why = `beyond the newest ${newest}${what.suffix}`;
    return selected.slice(keep).map((image) => [image, why]);
  }
  const limitMs = selection.countNumber * DAY_MS;
  return selected
    .filter((image) => now.getTime() - image.pushedAt.getTime() > limitMs)
    .map((image) => {
      const age = formatAgeDays(now.getTime() - image.pushedAt.getTime(), selection.countNumber);
      const label = what.label === '' ? '' : `${what.label}, `;
      return [image, `${label}pushed ${age} ago (more than ${plural(selection.countNumber, 'day')})`];
    });
}

/** Words for a rule's tag filter: `untagged `/`` before "image", ` tagged prod*` after it, a short label. */
function describeImages(selection: LifecycleSelection): { adjective: string; suffix: string; label: string } {
  if (selection.tagStatus === 'any') return { adjective: '', suffix: '', label: '' };
  if (selection.tagStatus === 'untagged') return { adjective: 'untagged ', suffix: '', label: 'untagged' };
  const filters = selection.tagPatternList ?? (selection.tagPrefixList ?? []).map((prefix) => `${prefix}*`);
  const label = `tagged ${filters.join(' and ')}`;
  return { adjective: '', suffix: ` ${label}`, label };
}

/** Whole days when that is clearly over the limit, else rounded up to a tenth (never "14 days > 14"). */
function formatAgeDays(ageMs: number, limitDays: number): string {
  const days = ageMs / DAY_MS;
  if (Math.floor(days) > limitDays) return plural(Math.floor(days), 'day');
  return `${(Math.ceil(days * 10) / 10).toFixed(1)} days`;
}

/** `lifecycle rule 1 ("keep 3 prod")`: rules are named by their `rulePriority`, as ECR's preview does. */
function ruleName(rule: LifecycleRule): string {
  const description = rule.description ? ` (${JSON.stringify(rule.description)})` : '';
  return `lifecycle rule ${rule.rulePriority}${description}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
