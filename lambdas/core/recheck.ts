import { getOrCreate } from './collections';
import type { Outcome } from './execute-plan';
import type { PlanItem } from './plan';
import type { ImageOutcome } from './review-view';
import { shortDigest } from './time-text';

/**
 * Decides, just before deleting, whether an approved candidate may still go: it must still be a
 * delete candidate in a plan made now (fresh listing, sightings, pulls), with the same tags and
 * the same family, and its root must be approved too. Returns the skip outcome, or `'delete'` when
 * it may be deleted. `isListed`: whether a digest is in the fresh listing. An image no longer in the registry is already deleted (`fresh` must come from
 * a listing that would show it: on a registry that lists only what tags reach, one that read the
 * approved digests by digest).
 *
 * @example
 * recheckApproved(scanned, fresh, approved) // { status: 'skipped', reason: 'became protected: kept: seen in prod 1 hour ago' }
 */
export function recheckApproved(
  scanned: PlanItem,
  fresh: PlanItem | undefined,
  isApproved: (repository: string, digest: string) => boolean,
  isListed: (digest: string) => boolean = () => true,
): ImageOutcome | 'delete' {
  if (!fresh) return { status: 'deleted' };
  if (scanned.root !== scanned.digest && fresh.root !== scanned.root && !isListed(scanned.root)) {
    // An earlier run of this approval, cut short after the index and before its children, or a
    // deletion elsewhere: the member is an image of its own now, and it was approved as a part.
    return {
      status: 'skipped',
      reason: `${shortDigest(scanned.root)}, which it belonged to, is gone since the scan: it is an image of its own now, left for the next scan to decide`,
    };
  }
  if (fresh.decision !== 'delete')
    return { status: 'skipped', reason: `became protected since the scan (${fresh.reason})` };
  if (!sameTags(scanned.tags, fresh.tags)) {
    return {
      status: 'skipped',
      reason: `tags changed since the scan: [${scanned.tags.join(', ')}] → [${fresh.tags.join(', ')}]`,
    };
  }
  if (scanned.root !== fresh.root || !sameTags(scanned.references, fresh.references)) {
    return { status: 'skipped', reason: 'its family changed since the scan (index, children or referrers)' };
  }
  if (scanned.root !== scanned.digest && !isApproved(scanned.repository, scanned.root)) {
    return {
      status: 'skipped',
      reason: `${shortDigest(scanned.root)}, which it belongs to, was not approved`,
    };
  }
  return 'delete';
}

/**
 * The deleter's re-check of one repository's approved candidates `todo` against `fresh`, a plan
 * of it made now: each must pass `recheckApproved`; a member whose tags changed keeps every family
 * it belongs to (as `keepRetagged` does in `gc`: a platform image tagged since the scan keeps its
 * index, and the other indexes sharing it); and nothing is cut from its family
 * (`keepFamiliesWhole`). Returns what may be deleted, and the outcome of every other image of `todo`.
 */
export function recheckRepository(
  todo: readonly PlanItem[],
  fresh: ReadonlyMap<string, PlanItem>,
  isApproved: (repository: string, digest: string) => boolean,
): { ready: PlanItem[]; outcomes: Map<PlanItem, ImageOutcome> } {
  const outcomes = new Map<PlanItem, ImageOutcome>();
  const checked: PlanItem[] = [];
  const retagged: PlanItem[] = [];
  for (const item of todo) {
    const now = fresh.get(item.digest);
    const verdict = recheckApproved(item, now, isApproved, (digest) => fresh.has(digest));
    if (verdict === 'delete') checked.push(item);
    else outcomes.set(item, verdict);
    if (now !== undefined && !sameTags(item.tags, now.tags)) retagged.push(now);
  }
  const families = retagged.length > 0 ? familiesOf(retagged, [...fresh.values()]) : undefined;
  const whole: PlanItem[] = [];
  for (const item of checked) {
    const changed = families?.get(item.root) ?? families?.get(fresh.get(item.digest)?.root ?? item.root);
    if (changed === undefined) whole.push(item);
    else
      outcomes.set(item, {
        status: 'skipped',
        reason: `kept with its family: the tags of ${shortDigest(changed)} changed since the scan`,
      });
  }
  const { ready, blocked } = keepFamiliesWhole(whole, fresh);
  for (const item of whole) {
    const reason = blocked.get(item.digest);
    if (reason !== undefined) outcomes.set(item, { status: 'skipped', reason });
  }
  return { ready, outcomes };
}

/** Digest → the digests of the items that point to it (its indexes, its referrers). */
function pointersOf(items: Iterable<PlanItem>): Map<string, string[]> {
  const pointedBy = new Map<string, string[]>();
  for (const item of items) {
    for (const target of item.references) getOrCreate(pointedBy, target, () => []).push(item.digest);
  }
  return pointedBy;
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((tag, index) => tag === sorted[index]);
}

/**
 * Family root → the first of `members` in its family, for every family each of `members` belongs
 * to: its own root, and the root of every manifest that points to it, however far up. A platform
 * image shared by two indexes belongs to both families, though its item names only one root.
 */
function familiesOf(members: readonly PlanItem[], items: readonly PlanItem[]): Map<string, string> {
  const byDigest = new Map(items.map((item) => [item.digest, item]));
  const pointedBy = pointersOf(items);
  const families = new Map<string, string>();
  for (const member of members) {
    const seen = new Set<string>([member.digest]);
    const pending = [member.digest];
    for (let digest = pending.pop(); digest !== undefined; digest = pending.pop()) {
      const root = byDigest.get(digest)?.root;
      if (root !== undefined && !families.has(root)) families.set(root, member.digest);
      for (const pointer of pointedBy.get(digest) ?? []) {
        if (seen.has(pointer)) continue;
        seen.add(pointer);
        pending.push(pointer);
      }
    }
  }
  return families;
}

/**
 * Keeps only the images whose family goes with them: an image that a manifest of the registry
 * (as listed now) points to — its index, or a referrer's subject — is deleted only when that
 * manifest is deleted in the same run, and a referrer (signature, SBOM) only with its subject. Repeats until stable, so that a skipped index also keeps
 * its children's children. A family is never cut in two, whatever was approved.
 *
 * @example
 * keepFamiliesWhole([childOfKeptIndex], fresh) // { ready: [], blocked: Map { child → 'sha256:… points to it and stays' } }
 */
export function keepFamiliesWhole(
  ready: readonly PlanItem[],
  fresh: ReadonlyMap<string, PlanItem>,
): { ready: PlanItem[]; blocked: Map<string, string> } {
  const pointedBy = pointersOf(fresh.values());
  const going = new Set(ready.map((item) => item.digest));
  const blocked = new Map<string, string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const digest of going) {
      const reason = stayingReason(digest, fresh, pointedBy, going);
      if (reason === undefined) continue;
      going.delete(digest);
      blocked.set(digest, reason);
      changed = true;
    }
  }
  return { ready: ready.filter((item) => going.has(item.digest)), blocked };
}

/**
 * Why `digest` must stay: a manifest pointing to it stays (an index, or a referrer such as a
 * signature), or it is a referrer whose subject stays (a kept image keeps its signatures).
 */
function stayingReason(
  digest: string,
  fresh: ReadonlyMap<string, PlanItem>,
  pointedBy: ReadonlyMap<string, readonly string[]>,
  going: ReadonlySet<string>,
): string | undefined {
  const pointer = (pointedBy.get(digest) ?? []).find((other) => !going.has(other));
  if (pointer !== undefined) return `${shortDigest(pointer)}, which points to it, is not being deleted`;
  const item = fresh.get(digest);
  if (item?.role !== 'referrer') return undefined;
  const subject = item.references.find((target) => fresh.has(target) && !going.has(target));
  return subject === undefined
    ? undefined
    : `it refers to ${shortDigest(subject)}, which is not being deleted`;
}

/**
 * `gc`'s check just before deleting a repository's candidates: an image whose tags are no longer
 * those the plan was made with (a tag moved onto it, a promotion) is kept, and so is its whole
 * family (as in planning, a family is kept whole when any member must be kept: its root, the
 * other platform images, signatures and other referrers), then whatever else points to what stays
 * (`keepFamiliesWhole`). An image no longer in the registry stays in the plan: deleting it finds
 * it gone. `items` are every image of the repository as planned, kept ones included.
 *
 * @example
 * keepRetagged(items, new Map([[digest, ['release-production']]])) // skipped: 'tags changed since the listing: [] → [release-production]'
 */
export function keepRetagged(
  items: readonly PlanItem[],
  current: ReadonlyMap<string, readonly string[]>,
): { ready: PlanItem[]; skipped: Outcome[] } {
  const skipped: Outcome[] = [];
  const unchanged: PlanItem[] = [];
  const retagged: PlanItem[] = [];
  for (const item of items) {
    if (item.decision !== 'delete') continue;
    const now = current.get(item.digest);
    if (now === undefined || sameTags(item.tags, now)) unchanged.push(item);
    else {
      const reason = `tags changed since the listing: [${item.tags.join(', ')}] → [${[...now].sort().join(', ')}]`;
      skipped.push({ item, status: 'skipped', reason });
      retagged.push(item);
    }
  }
  if (skipped.length === 0) return { ready: unchanged, skipped };
  const changedFamilies = familiesOf(retagged, items);
  const others: PlanItem[] = [];
  for (const item of unchanged) {
    const changed = changedFamilies.get(item.root);
    if (changed === undefined) others.push(item);
    else {
      const reason = `kept with its family: the tags of ${shortDigest(changed)} changed since the listing`;
      skipped.push({ item, status: 'skipped', reason });
    }
  }
  const { ready, blocked } = keepFamiliesWhole(others, new Map(items.map((item) => [item.digest, item])));
  for (const item of others) {
    const reason = blocked.get(item.digest);
    if (reason !== undefined) skipped.push({ item, status: 'skipped', reason });
  }
  return { ready, skipped };
}
