import { familyGroups } from './review-page-parts';
import type { ReviewView } from './review-view';
import { plural } from './time-text';

type RepositoryView = ReviewView['repositories'][number];

/** Candidates held back from a page: how many, and in how many repositories. */
export interface Held {
  readonly candidates: number;
  readonly repositories: number;
}

/**
 * The most bytes the checkboxes of one page add to the approval form it posts. API Gateway hands
 * a form to Lambda in base64 (4/3 of it), and Lambda takes at most 6 MB a request: 3.5 MB of
 * form is 4.7 MB there, with room for the rest of the event. `serve` reads up to 6 MiB a body.
 */
export const MAX_APPROVAL_FORM_BYTES = 3_500_000;

/** The bytes one checked checkbox adds to the form: `image=<repository>@<digest>&`, URL-encoded. */
export function formEntryBytes(item: { readonly repository: string; readonly digest: string }): number {
  return 'image='.length + encodeURIComponent(`${item.repository}@${item.digest}`).length + 1;
}

/**
 * The repositories' candidates up to `max` and (when `max` is finite) up to `MAX_APPROVAL_FORM_BYTES` of form, whole
 * families in plan order (a family cut in two would be skipped by the deleter anyway), and what is
 * left out. An approval is read against the same cut, so it never reaches what the page did not show.
 */
export function withinLimit(
  repositories: readonly RepositoryView[],
  max: number,
  maxFormBytes: number = Number.isFinite(max) ? MAX_APPROVAL_FORM_BYTES : Number.POSITIVE_INFINITY,
): { offered: RepositoryView[]; held: Held } {
  const offered: RepositoryView[] = [];
  let room = max;
  let bytesLeft = maxFormBytes;
  let heldCandidates = 0;
  let heldRepositories = 0;
  for (const repo of repositories) {
    const bytes = sumBytes(repo.candidates);
    if (repo.candidates.length <= room && bytes <= bytesLeft) {
      offered.push(repo);
      room -= repo.candidates.length;
      bytesLeft -= bytes;
      continue;
    }
    let fits = 0;
    for (const group of familyGroups(repo.candidates)) {
      const size = 1 + group.members.length;
      const groupBytes = formEntryBytes(group.root) + sumBytes(group.members);
      if (size > room || groupBytes > bytesLeft) break;
      fits += size;
      room -= size;
      bytesLeft -= groupBytes;
    }
    room = 0;
    bytesLeft = 0;
    if (fits > 0) offered.push({ ...repo, candidates: repo.candidates.slice(0, fits) });
    heldCandidates += repo.candidates.length - fits;
    heldRepositories += 1;
  }
  return { offered, held: { candidates: heldCandidates, repositories: heldRepositories } };
}

function sumBytes(items: readonly { readonly repository: string; readonly digest: string }[]): number {
  let bytes = 0;
  for (const item of items) bytes += formEntryBytes(item);
  return bytes;
}

/** `offered`: how many candidates the page lists. */
export function heldText(held: Held, offered: number): string {
  const more = held.candidates.toLocaleString('en-US');
  return (
    `This page lists ${offered.toLocaleString('en-US')} ${offered === 1 ? 'candidate' : 'candidates'}, as many as one page and one approval can carry: ` +
    `${more} more, in ${plural(held.repositories, 'repository')}, ${held.candidates === 1 ? 'is' : 'are'} not on it. ` +
    'They are not deleted now; the next scan proposes them again.'
  );
}
