import type { PlanItem } from './plan';
import type { ImageOutcome } from './review-view';
import { shortDigest } from './time-text';

/**
 * Decides, just before deleting, whether an approved candidate may still go: it must still be a
 * delete candidate in a plan made now (fresh listing, sightings, pulls), with the same tags and
 * the same family, and its root must be approved too. Returns the skip outcome, or undefined when
 * it may be deleted. An image no longer in the registry is already deleted.
 *
 * @example
 * recheckApproved(scanned, fresh, approved) // { status: 'skipped', reason: 'became protected: kept: seen in prod 1 hour ago' }
 */
export function recheckApproved(
  scanned: PlanItem,
  fresh: PlanItem | undefined,
  isApproved: (repository: string, digest: string) => boolean,
): ImageOutcome | 'delete' {
  if (!fresh) return { status: 'deleted' };
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

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((tag, index) => tag === sorted[index]);
}
