import { emptyKeepRuleFacts, noteKeepRuleFacts, type RuleFacts } from './delete-rules';
import { isUnknownPushTime, type RegistryImage } from './model';
import type { KeepRule } from './policy';
import { type ProtectionContext, rootUse } from './protections';

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
   * What could show each root in use or protect it by itself (`rootUse`): a family of a root with
   * 0 here and no members is `UNUSED` without looking again, and the other roots alone are spared
   * the checks their clear bits rule out.
   */
  readonly use: Uint8Array;
}

/**
 * Reads the `RootFacts` of one repository's `roots` (`Families.roots`) for the keep rules `keep`
 * (the policy's `rules.keep`) and the protections of `protection`; without `protection` (when
 * `nothingProtects`), every root's `use` is 0.
 */
export function rootFacts(
  roots: readonly RegistryImage[],
  keep: readonly KeepRule[],
  protection: ProtectionContext | undefined,
): RootFacts {
  const facts: RootFacts = {
    ...emptyKeepRuleFacts(roots.length),
    unknownTime: new Uint8Array(roots.length),
    times: new Float64Array(roots.length),
    use: new Uint8Array(roots.length),
  };
  for (let i = 0; i < roots.length; i++) {
    const root = roots[i]!;
    const ms = root.pushedAt.getTime();
    facts.times[i] = ms;
    if (isUnknownPushTime(root.pushedAtSource, ms)) facts.unknownTime[i] = 1;
    noteKeepRuleFacts(facts, i, root.tags, keep);
    if (protection) facts.use[i] = rootUse(root, ms, protection);
  }
  facts.starts[roots.length] = facts.matched.length;
  return facts;
}
