import type { FamilyMember } from './image-family';
import { type LifecyclePolicy, lifecycleOutcome } from './lifecycle-policy';
import { hasUnknownPushTime, type RegistryImage } from './model';
import type { Decision } from './plan';
import type { DeleteRules, KeepRule } from './policy';
import { plural, shortDigest } from './time-text';

/**
 * What the delete rules say of one root, before protections: `delete` makes it a candidate.
 * A `keep` verdict is the root's decision as it stands (no protection can change a keep).
 */
export interface RuleVerdict {
  readonly decision: Decision;
  /** `delete: ...` or `kept: ...` */
  readonly reason: string;
}

const UNTAGGED: RuleVerdict = { decision: 'delete', reason: 'delete: untagged' };
const UNTAGGED_KEPT: RuleVerdict = {
  decision: 'keep',
  reason: 'kept: untagged, and no rule deletes untagged images',
};
const NO_RULE: RuleVerdict = { decision: 'keep', reason: 'kept: no delete rule matches' };
const UNKNOWN_TIME: RuleVerdict = {
  decision: 'keep',
  reason:
    'kept: push time unknown (the registry records none and the image gives no usable date), so it cannot be ranked by age',
};

/**
 * Applies the delete rules to one repository's family roots and returns one verdict per root,
 * newest first: `verdicts[k]` is that of the k-th newest root. `newestFirst[k]` is the index in
 * `roots` of the k-th newest (see `newestFirstOrder`); without it, `roots` are newest first. An
 * image is a candidate when any rule selects it; otherwise it is kept with the reason of the rule
 * that spoke about it (or "no delete rule matches"). Rules that rank by push time (keep N,
 * lifecycle rules) never select an image whose push time is unknown (`pushedAtSource:
 * 'unknown'`, e.g. a reproducible build dated 1970 on an OCI registry). `facts`: the roots'
 * facts (`rootFacts`), when the caller has them already. `taggedMembers(i)`: the tagged members
 * below `roots[i]` (platform images, referrers). A tagged platform image that the rule selecting
 * its root would not select on its own keeps the family (`tagHold`): a tag under `deleteUntagged`,
 * a tag under no `--keep` prefix under the keep rules. A lifecycle rule that selects a tagged
 * member and does not expire it keeps the family, as ECR would keep that image (`lifecycleHolds`).
 */
export function applyDeleteRules(
  roots: readonly RegistryImage[],
  rules: DeleteRules,
  options: { readonly unusedDays: number; readonly now: Date },
  newestFirst: ArrayLike<number> = inListingOrder(roots.length),
  facts: RuleFacts = ruleFacts(roots, rules.keep),
  taggedMembers?: (index: number) => readonly FamilyMember[],
): RuleVerdict[] {
  const keep = rules.keep.length > 0 ? keepVerdicts(facts, rules.keep, newestFirst) : undefined;
  const outcome = rules.lifecyclePolicy
    ? lifecycleOutcome(rules.lifecyclePolicy, roots, options.now)
    : undefined;
  const lifecycle = outcome?.expired;
  const held =
    rules.lifecyclePolicy && taggedMembers && lifecycle && lifecycle.size > 0
      ? lifecycleHolds(rules.lifecyclePolicy, roots, taggedMembers, options.now)
      : undefined;
  const unused: RuleVerdict = {
    decision: 'delete',
    reason: `delete: tagged, not seen for ${plural(options.unusedDays, 'day')}`,
  };
  const unusedMembers: RuleVerdict = {
    decision: 'delete',
    reason: `delete: untagged, its platform images tagged, not seen for ${plural(options.unusedDays, 'day')}`,
  };
  const { tagged, unknownTime } = facts;
  // One verdict per lifecycle rule's reason, shared by the images it selects.
  const byLifecycleReason = new Map<string, RuleVerdict>();
  const verdicts: RuleVerdict[] = new Array(roots.length);
  for (let k = 0; k < roots.length; k++) {
    const i = newestFirst[k]!;
    const keepVerdict = keep?.[k];
    const keepSelects = keepVerdict?.decision === 'delete';
    const unknown = unknownTime[i] === 1;
    let verdict: RuleVerdict | undefined;
    let heldVerdict: RuleVerdict | undefined;
    if (keepSelects && !unknown) verdict = keepVerdict;
    else if (tagged[i] === 0 && rules.deleteUntagged) verdict = UNTAGGED;
    const tagHolding =
      verdict !== undefined && taggedMembers
        ? tagHold(taggedMembers(i), verdict === UNTAGGED ? undefined : rules.keep)
        : undefined;
    if (tagHolding !== undefined) {
      heldVerdict = tagHolding;
      // unusedTagged would select the tagged platform image on its own: the family goes by it.
      verdict = tagged[i] === 0 && rules.unusedTagged ? unusedMembers : undefined;
    }
    const lifecycleReason = verdict ? undefined : lifecycle?.get(roots[i]!.digest);
    const holding =
      lifecycleReason !== undefined && !unknown
        ? held?.(i, outcome?.priority.get(roots[i]!.digest) ?? Number.POSITIVE_INFINITY)
        : undefined;
    if (holding !== undefined) heldVerdict = { decision: 'keep', reason: `kept: ${holding}` };
    else if (lifecycleReason !== undefined && !unknown) {
      verdict = byLifecycleReason.get(lifecycleReason);
      if (!verdict) {
        verdict = { decision: 'delete', reason: `delete: ${lifecycleReason}` };
        byLifecycleReason.set(lifecycleReason, verdict);
      }
    }
    verdicts[k] =
      verdict ??
      (tagged[i] === 1 && rules.unusedTagged
        ? unused
        : unknown && (keepSelects || lifecycleReason !== undefined)
          ? UNKNOWN_TIME
          : (heldVerdict ??
            keepVerdict ??
            lifecycleKept(outcome, roots[i]!) ??
            (tagged[i] === 0 ? UNTAGGED_KEPT : NO_RULE)));
  }
  return verdicts;
}

/** A lifecycle rule's word on a root it selects and does not expire (`kept: selected by lifecycle rule 1, ...`). */
function lifecycleKept(
  outcome: ReturnType<typeof lifecycleOutcome> | undefined,
  root: RegistryImage,
): RuleVerdict | undefined {
  const why = outcome?.kept.get(root.digest);
  return why === undefined ? undefined : { decision: 'keep', reason: `kept: ${why}` };
}

/**
 * Why a family stays although its root is selected by `deleteUntagged` (`keep` undefined) or by
 * the keep rules (`keep`): one of its platform images (a child, not a referrer: signatures follow
 * their subject) carries a tag that rule would not select on its own. aws-ecr-gc, which looks at
 * each manifest alone, would keep that image; a family is kept whole when a member must be kept.
 * `docker buildx imagetools create -t web:1.0 web:1.0-amd64 web:1.0-arm64` makes such families.
 */
function tagHold(members: readonly FamilyMember[], keep?: readonly KeepRule[]): RuleVerdict | undefined {
  for (const member of members) {
    if (member.role !== 'child') continue;
    const { digest, tags } = member.image;
    const tag = keep ? unmanagedTag(tags, keep) : tags[0];
    if (tag === undefined) continue;
    const which = `${shortDigest(digest)} [${tags.join(', ')}]`;
    return {
      decision: 'keep',
      reason: keep
        ? `kept: its platform image ${which} has tag '${tag}', which matches no --keep prefix`
        : `kept: untagged, but its platform image ${which} is tagged`,
    };
  }
  return undefined;
}

/**
 * ECR evaluates a lifecycle policy over every image, so a tagged platform image or signature that
 * a rule of higher priority than the one expiring its index or subject selects, and does not
 * expire, stays; so does a tagged platform image that no rule expires at all. Families are
 * decided whole here, so such a member keeps its family: returns, for root `i` expired by the
 * rule of priority `expiredBy`, why (or undefined). A signature that only the expiring rule or a
 * later one selects follows its subject (a catch-all rule must not keep every signed image). The
 * policy is evaluated over the roots and every tagged member, as ECR sees them.
 */
function lifecycleHolds(
  policy: LifecyclePolicy,
  roots: readonly RegistryImage[],
  taggedMembers: (index: number) => readonly FamilyMember[],
  now: Date,
): (index: number, expiredBy: number) => string | undefined {
  // Evaluated once, on the first expired root that has a tagged member: most never need it.
  let outcome: ReturnType<typeof lifecycleOutcome> | undefined;
  const evaluate = () => {
    const view = new Map<string, RegistryImage>();
    for (const root of roots) view.set(root.digest, root);
    for (let i = 0; i < roots.length; i++)
      for (const { image } of taggedMembers(i)) view.set(image.digest, image);
    return lifecycleOutcome(policy, [...view.values()], now);
  };
  return (index, expiredBy) => {
    const members = taggedMembers(index);
    if (members.length === 0) return undefined;
    outcome ??= evaluate();
    for (const { image: member, role } of members) {
      const which = `${shortDigest(member.digest)} [${member.tags.join(', ')}]`;
      const why = outcome.kept.get(member.digest);
      if (why !== undefined && (outcome.priority.get(member.digest) ?? expiredBy) < expiredBy)
        return `${which} of its family is ${why}`;
      // A tagged platform image that no rule expires stays in ECR (as under tagHold).
      if (role === 'child' && !outcome.expired.has(member.digest))
        return `its platform image ${which} is tagged, and no lifecycle rule expires it`;
    }
    return undefined;
  };
}

/**
 * aws-ecr-gc's `--keep PREFIX=N`: walking images newest first, a prefix keeps an image while it
 * has counted fewer than N tags under it, and then counts each of the image's tags under it (so
 * an image tagged `build-3` and `build-3b` takes two of `build`'s N, as in aws-ecr-gc's
 * `gc.go`). An image is a candidate when it
 * has a tag under some prefix, no prefix keeps it, and every tag it has is under some prefix (an
 * image with any other tag is not managed by the keep rules). Untagged images are not managed
 * (undefined in the result). The result is newest first, like `applyDeleteRules`'s.
 */
export function applyKeepRules(
  images: readonly Pick<RegistryImage, 'digest' | 'tags'>[],
  rules: readonly KeepRule[],
  newestFirst: ArrayLike<number> = inListingOrder(images.length),
): (RuleVerdict | undefined)[] {
  return keepVerdicts(keepRuleFacts(images, rules), rules, newestFirst);
}

/** `applyKeepRules` from the facts of the images (`keepRuleFacts`). */
function keepVerdicts(
  facts: KeepRuleFacts,
  rules: readonly KeepRule[],
  newestFirst: ArrayLike<number>,
): (RuleVerdict | undefined)[] {
  const { tagged, starts, matched, unmanaged } = facts;
  const seen = rules.map(() => 0);
  const kept = rules.map((rule): RuleVerdict => ({ decision: 'keep', reason: `kept: ${newestText(rule)}` }));
  const beyond = rules.map(
    (rule): RuleVerdict => ({ decision: 'delete', reason: `delete: ${beyondText(rule)}` }),
  );
  const verdicts: (RuleVerdict | undefined)[] = new Array(tagged.length);
  for (let k = 0; k < tagged.length; k++) {
    const i = newestFirst[k]!;
    if (tagged[i] === 0) continue;
    let keptBy: number[] | number | undefined;
    let beyondBy: number[] | number | undefined;
    for (let at = starts[i]!; at < starts[i + 1]!; at++) {
      const match = matched[at]!;
      const r = match & RULE_MASK;
      if (seen[r]! < rules[r]!.count) keptBy = withRule(keptBy, r);
      else beyondBy = withRule(beyondBy, r);
      seen[r]! += (match >>> RULE_BITS) + 1;
    }
    const unmanagedTag = unmanaged[i];
    if (unmanagedTag !== undefined) {
      verdicts[k] = { decision: 'keep', reason: `kept: tag '${unmanagedTag}' matches no --keep prefix` };
    } else if (typeof keptBy === 'number') verdicts[k] = kept[keptBy];
    else if (keptBy)
      verdicts[k] = {
        decision: 'keep',
        reason: `kept: ${keptBy.map((r) => newestText(rules[r]!)).join(', ')}`,
      };
    else if (typeof beyondBy === 'number') verdicts[k] = beyond[beyondBy];
    else if (beyondBy) {
      verdicts[k] = {
        decision: 'delete',
        reason: `delete: ${beyondBy.map((r) => beyondText(rules[r]!)).join(', ')}`,
      };
    }
  }
  return verdicts;
}

/** What the keep rules need of each image, read in listing order (see `keepRuleFacts`). */
export interface KeepRuleFacts {
  /** 1 for an image with a tag. */
  readonly tagged: Uint8Array;
  /** The rules with a tag of image `i` under their prefix: `matched[starts[i]]` to `matched[starts[i + 1] - 1]`. */
  readonly starts: Int32Array;
  /**
   * Each: the rule's index (`& RULE_MASK`), and how many of the image's tags are under its prefix,
   * less one (`>>> RULE_BITS`): aws-ecr-gc counts tags. One number each: most images have one tag.
   */
  readonly matched: number[];
  /** Each image's first tag under no rule's prefix. */
  readonly unmanaged: (string | undefined)[];
}

/** What the delete rules need of each root: the keep rules' facts, and which push times are unknown. */
export interface RuleFacts extends KeepRuleFacts {
  /** 1 for a root whose push time is unknown (`hasUnknownPushTime`). */
  readonly unknownTime: Uint8Array;
}

/** The `RuleFacts` of `roots` for the keep rules `keep`; see `rootFacts` for planning's one pass. */
function ruleFacts(roots: readonly RegistryImage[], keep: readonly KeepRule[]): RuleFacts {
  const facts: RuleFacts = { ...keepRuleFacts(roots, keep), unknownTime: new Uint8Array(roots.length) };
  for (let i = 0; i < roots.length; i++) if (hasUnknownPushTime(roots[i]!)) facts.unknownTime[i] = 1;
  return facts;
}

function keepRuleFacts(
  images: readonly Pick<RegistryImage, 'tags'>[],
  rules: readonly KeepRule[],
): KeepRuleFacts {
  const facts = emptyKeepRuleFacts(images.length);
  for (let i = 0; i < images.length; i++) noteKeepRuleFacts(facts, i, images[i]!.tags, rules);
  facts.starts[images.length] = facts.matched.length;
  return facts;
}

export const emptyKeepRuleFacts = (length: number): KeepRuleFacts => ({
  tagged: new Uint8Array(length),
  starts: new Int32Array(length + 1),
  matched: [],
  unmanaged: new Array(length),
});

/** Notes what the keep `rules` need of image `i`, whose tags are `tags` (images in listing order). */
export function noteKeepRuleFacts(
  facts: KeepRuleFacts,
  i: number,
  tags: readonly string[],
  rules: readonly KeepRule[],
): void {
  facts.starts[i] = facts.matched.length;
  if (tags.length === 0) return;
  facts.tagged[i] = 1;
  facts.unmanaged[i] = unmanagedTag(tags, rules);
  for (let r = 0; r < rules.length; r++) {
    const prefix = rules[r]!.prefix;
    const under = tags.length === 1 ? (tags[0]!.startsWith(prefix) ? 1 : 0) : tagsUnder(tags, prefix);
    // More than 65,536 tags under one prefix count as 65,536 (a keep count never nears that).
    if (under > 0) facts.matched.push(r + (Math.min(under, RULE_MASK + 1) - 1) * (RULE_MASK + 1));
  }
}

/** `KeepRuleFacts.matched`: a rule's index in the low bits, tags under it less one above. */
const RULE_BITS = 16;
const RULE_MASK = (1 << RULE_BITS) - 1;

/** 0, 1, 2, ...: images already newest first. */
function inListingOrder(length: number): Int32Array {
  const order = new Int32Array(length);
  for (let i = 0; i < length; i++) order[i] = i;
  return order;
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

function tagsUnder(tags: readonly string[], prefix: string): number {
  let count = 0;
  for (const tag of tags) if (tag.startsWith(prefix)) count++;
  return count;
}

/** Rule indexes: one as a number (no allocation in the common case), several as an array. */
function withRule(list: number[] | number | undefined, rule: number): number[] | number {
  if (list === undefined) return rule;
  return typeof list === 'number' ? [list, rule] : [...list, rule];
}

const newestText = (rule: KeepRule) => `among the newest ${rule.count} ${rule.prefix}*`;
const beyondText = (rule: KeepRule) => `${rule.prefix}* beyond the newest ${rule.count}`;
