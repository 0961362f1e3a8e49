import { emptyKeepRuleFacts, noteKeepRuleFacts, type RuleFacts } from './delete-rules';
import { isUnknownPushTime, type RegistryImage } from './model';
import type { KeepRule } from './policy';
import { mayBeUsed, type ProtectionContext } from './protections';

/**
 * What planning needs of each family root before it ranks or decides them, read in one pass in
 * listing order: a repository's roots lie in memory in that order, and each pass over a million
 * of them (their objects, tag lists, tag strings and dates) costs about as much as the work done
 * with what it reads.
 */
export interface RootFacts extends RuleFacts {
  /** Each root's push time in milliseconds (NaN for an invalid date), as `pushTimes` gives them. */
  readonly times: Float64Array;
  /**
   * 1 for a root that nothing could show in use or protect by itself (`mayBeUsed` is false): a
   * family of such a root with no members is `UNUSED` without looking again.
   */
  readonly quiet: Uint8Array;
}

/**
 * Reads the `RootFacts` of one repository's `roots` (`Families.roots`) for the keep rules `keep`
 * (the policy's `rules.keep`) and the protections of `protection`.
 */
export function rootFacts(
  roots: readonly RegistryImage[],
  keep: readonly KeepRule[],
  protection: ProtectionContext,
): RootFacts {
  const facts: RootFacts = {
    ...emptyKeepRuleFacts(roots.length),
    unknownTime: new Uint8Array(roots.length),
    times: new Float64Array(roots.length),
    quiet: new Uint8Array(roots.length),
  };
  for (let i = 0; i < roots.length; i++) {
    const root = roots[i]!;
    const ms = root.pushedAt.getTime();
    facts.times[i] = ms;
    if (isUnknownPushTime(root.pushedAtSource, ms)) facts.unknownTime[i] = 1;
    noteKeepRuleFacts(facts, i, root.tags, keep);
    if (!mayBeUsed(root, ms, protection)) facts.quiet[i] = 1;
  }
  facts.starts[roots.length] = facts.matched.length;
  return facts;
}
