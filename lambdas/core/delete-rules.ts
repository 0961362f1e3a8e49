import { evaluateLifecyclePolicy } from './lifecycle-policy';
import { hasUnknownPushTime, type RegistryImage } from './model';
import type { DeleteRules, KeepRule } from './policy';
import { plural } from './time-text';

/** What the delete rules say of one root, before protections. */
export interface RuleVerdict {
  readonly candidate: boolean;
  /** `delete: ...` or `kept: ...` */
  readonly reason: string;
}

const UNTAGGED: RuleVerdict = { candidate: true, reason: 'delete: untagged' };
const UNTAGGED_KEPT: RuleVerdict = {
  candidate: false,
  reason: 'kept: untagged, and no rule deletes untagged images',
};
const NO_RULE: RuleVerdict = { candidate: false, reason: 'kept: no delete rule matches' };
const UNKNOWN_TIME: RuleVerdict = {
  candidate: false,
  reason:
    'kept: push time unknown (the registry records none and the image gives no usable date), so it cannot be ranked by age',
};

/**
 * Applies the delete rules to one repository's family roots, newest first, and returns one
 * verdict per root in the same order. An image is a candidate when any rule selects it;
 * otherwise it is kept with the reason of the rule that spoke about it (or "no delete rule matches").
 * Rules that rank by push time (keep N, lifecycle rules) never select an image whose push time is
 * unknown (`pushedAtSource: 'unknown'`, e.g. a reproducible build dated 1970 on an OCI registry).
 */
export function applyDeleteRules(
  rootsNewestFirst: readonly RegistryImage[],
  rules: DeleteRules,
  options: { readonly unusedDays: number; readonly now: Date },
): RuleVerdict[] {
  const keep = rules.keep.length > 0 ? applyKeepRules(rootsNewestFirst, rules.keep) : undefined;
  const lifecycle = rules.lifecyclePolicy
    ? evaluateLifecyclePolicy(rules.lifecyclePolicy, rootsNewestFirst, options.now)
    : undefined;
  const unused: RuleVerdict = {
    candidate: true,
    reason: `delete: tagged, not seen for ${plural(options.unusedDays, 'day')}`,
  };
  return rootsNewestFirst.map((image, index) => {
    const untagged = image.tags.length === 0;
    const keepVerdict = keep?.[index];
    const unknownTime = hasUnknownPushTime(image);
    if (keepVerdict?.candidate && !unknownTime) return keepVerdict;
    if (untagged && rules.deleteUntagged) return UNTAGGED;
    const lifecycleReason = lifecycle?.get(image.digest);
    if (lifecycleReason !== undefined && !unknownTime)
      return { candidate: true, reason: `delete: ${lifecycleReason}` };
    if (!untagged && rules.unusedTagged) return unused;
    if (unknownTime && (keepVerdict?.candidate || lifecycleReason !== undefined)) return UNKNOWN_TIME;
    return keepVerdict ?? (untagged ? UNTAGGED_KEPT : NO_RULE);
  });
}

/**
 * aws-ecr-gc's `--keep PREFIX=N`: walking images newest first, each prefix keeps its first N
 * images (an image counts once per prefix it has a tag under). An image is a candidate when it
 * has a tag under some prefix, no prefix keeps it, and every tag it has is under some prefix (an
 * image with any other tag is not managed by the keep rules). Untagged images are not managed
 * (undefined in the result, which is parallel to the input).
 */
export function applyKeepRules(
  imagesNewestFirst: readonly Pick<RegistryImage, 'digest' | 'tags'>[],
  rules: readonly KeepRule[],
): (RuleVerdict | undefined)[] {
  const seen = rules.map(() => 0);
  const kept = rules.map((rule): RuleVerdict => ({ candidate: false, reason: `kept: ${newestText(rule)}` }));
  const beyond = rules.map(
    (rule): RuleVerdict => ({ candidate: true, reason: `delete: ${beyondText(rule)}` }),
  );
  const verdicts: (RuleVerdict | undefined)[] = new Array(imagesNewestFirst.length);
  for (let i = 0; i < imagesNewestFirst.length; i++) {
    const { tags } = imagesNewestFirst[i]!;
    if (tags.length === 0) continue;
    const unmanaged = unmanagedTag(tags, rules);
    let keptBy: number[] | number | undefined;
    let beyondBy: number[] | number | undefined;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      if (!hasPrefix(tags, rule.prefix)) continue;
      if (seen[r]! < rule.count) keptBy = withRule(keptBy, r);
      else beyondBy = withRule(beyondBy, r);
      seen[r]!++;
    }
    if (unmanaged !== undefined) {
      verdicts[i] = { candidate: false, reason: `kept: tag '${unmanaged}' matches no --keep prefix` };
    } else if (typeof keptBy === 'number') verdicts[i] = kept[keptBy];
    else if (keptBy)
      verdicts[i] = {
        candidate: false,
        reason: `kept: ${keptBy.map((r) => newestText(rules[r]!)).join(', ')}`,
      };
    else if (typeof beyondBy === 'number') verdicts[i] = beyond[beyondBy];
    else if (beyondBy) {
      verdicts[i] = {
        candidate: true,
        reason: `delete: ${beyondBy.map((r) => beyondText(rules[r]!)).join(', ')}`,
      };
    }
  }
  return verdicts;
}

/** The first tag under no rule's prefix: an image with one is not managed by the keep rules. */
function unmanagedTag(tags: readonly string[], rules: readonly KeepRule[]): string | undefined {
  for (const tag of tags) if (!underSomePrefix(tag, rules)) return tag;
  return undefined;
}

function underSomePrefix(tag: string, rules: readonly KeepRule[]): boolean {
  for (const rule of rules) if (tag.startsWith(rule.prefix)) return true;
  return false;
}

function hasPrefix(tags: readonly string[], prefix: string): boolean {
  for (const tag of tags) if (tag.startsWith(prefix)) return true;
  return false;
}

/** Rule indexes: one as a number (no allocation in the common case), several as an array. */
function withRule(list: number[] | number | undefined, rule: number): number[] | number {
  if (list === undefined) return rule;
  return typeof list === 'number' ? [list, rule] : [...list, rule];
}

const newestText = (rule: KeepRule) => `among the newest ${rule.count} ${rule.prefix}*`;
const beyondText = (rule: KeepRule) => `${rule.prefix}* beyond the newest ${rule.count}`;
