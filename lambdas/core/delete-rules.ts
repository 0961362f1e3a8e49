import { evaluateLifecyclePolicy } from './lifecycle-policy';
import type { RegistryImage } from './model';
import type { DeleteRules, KeepRule } from './policy';
import { plural } from './time-text';

/** What the delete rules say of one root, before protections. */
export interface RuleVerdict {
  readonly candidate: boolean;
  /** `delete: ...` or `kept: ...` */
  readonly reason: string;
}

/**
 * Applies the delete rules to one repository's family roots, newest first. An image is a
 * candidate when any rule selects it; otherwise it is kept with the reason of the rule that
 * spoke last about it (or "no delete rule matches").
 */
export function applyDeleteRules(
  rootsNewestFirst: readonly RegistryImage[],
  rules: DeleteRules,
  options: { readonly unusedDays: number; readonly now: Date },
): Map<string, RuleVerdict> {
  const verdicts = new Map<string, RuleVerdict>();
  const keep = rules.keep.length > 0 ? applyKeepRules(rootsNewestFirst, rules.keep) : undefined;
  const lifecycle = rules.lifecyclePolicy
    ? evaluateLifecyclePolicy(rules.lifecyclePolicy, rootsNewestFirst, options.now)
    : undefined;
  for (const image of rootsNewestFirst) {
    const untagged = image.tags.length === 0;
    const keepVerdict = keep?.get(image.digest);
    const lifecycleReason = lifecycle?.get(image.digest);
    let verdict: RuleVerdict;
    if (keepVerdict?.candidate) verdict = keepVerdict;
    else if (untagged && rules.deleteUntagged) verdict = { candidate: true, reason: 'delete: untagged' };
    else if (lifecycleReason !== undefined)
      verdict = { candidate: true, reason: `delete: ${lifecycleReason}` };
    else if (!untagged && rules.unusedTagged) {
      verdict = {
        candidate: true,
        reason: `delete: tagged, not seen for ${plural(options.unusedDays, 'day')}`,
      };
    } else if (keepVerdict) verdict = keepVerdict;
    else if (untagged)
      verdict = { candidate: false, reason: 'kept: untagged, and no rule deletes untagged images' };
    else verdict = { candidate: false, reason: 'kept: no delete rule matches' };
    verdicts.set(image.digest, verdict);
  }
  return verdicts;
}

/**
 * aws-ecr-gc's `--keep PREFIX=N`: walking images newest first, each prefix keeps its first N
 * images (an image counts once per prefix it has a tag under). An image is a candidate when it
 * has a tag under some prefix, no prefix keeps it, and every tag it has is under some prefix (an
 * image with any other tag is not managed by the keep rules). Untagged images are not managed.
 */
export function applyKeepRules(
  imagesNewestFirst: readonly Pick<RegistryImage, 'digest' | 'tags'>[],
  rules: readonly KeepRule[],
): Map<string, RuleVerdict> {
  const seen = new Map<string, number>(rules.map((rule) => [rule.prefix, 0]));
  const verdicts = new Map<string, RuleVerdict>();
  for (const image of imagesNewestFirst) {
    if (image.tags.length === 0) continue;
    const unmanaged = image.tags.find((tag) => !rules.some((rule) => tag.startsWith(rule.prefix)));
    const keptBy: KeepRule[] = [];
    const beyond: KeepRule[] = [];
    for (const rule of rules) {
      if (!image.tags.some((tag) => tag.startsWith(rule.prefix))) continue;
      const count = seen.get(rule.prefix) ?? 0;
      (count < rule.count ? keptBy : beyond).push(rule);
      seen.set(rule.prefix, count + 1);
    }
    if (unmanaged !== undefined) {
      verdicts.set(image.digest, {
        candidate: false,
        reason: `kept: tag '${unmanaged}' matches no --keep prefix`,
      });
    } else if (keptBy.length > 0) {
      verdicts.set(image.digest, { candidate: false, reason: `kept: ${keptBy.map(newestText).join(', ')}` });
    } else {
      verdicts.set(image.digest, { candidate: true, reason: `delete: ${beyond.map(beyondText).join(', ')}` });
    }
  }
  return verdicts;
}

const newestText = (rule: KeepRule) => `among the newest ${rule.count} ${rule.prefix}*`;
const beyondText = (rule: KeepRule) => `${rule.prefix}* beyond the newest ${rule.count}`;
