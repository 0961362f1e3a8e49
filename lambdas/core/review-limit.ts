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
 * The repositories' candidates up to `max`, whole families in plan order (a family cut in two
 * would be skipped by the deleter anyway), and what is left out.
 */
export function withinLimit(
  repositories: readonly RepositoryView[],
  max: number,
): { offered: RepositoryView[]; held: Held } {
  const offered: RepositoryView[] = [];
  let room = max;
  let heldCandidates = 0;
  let heldRepositories = 0;
  for (const repo of repositories) {
    if (repo.candidates.length <= room) {
      offered.push(repo);
      room -= repo.candidates.length;
      continue;
    }
    let fits = 0;
    for (const group of familyGroups(repo.candidates)) {
      const size = 1 + group.members.length;
      if (size > room) break;
      fits += size;
      room -= size;
    }
    room = 0;
    if (fits > 0) offered.push({ ...repo, candidates: repo.candidates.slice(0, fits) });
    heldCandidates += repo.candidates.length - fits;
    heldRepositories += 1;
  }
  return { offered, held: { candidates: heldCandidates, repositories: heldRepositories } };
}

export function heldText(held: Held, max: number): string {
  const more = held.candidates.toLocaleString('en-US');
  return (
    `This page holds at most ${max.toLocaleString('en-US')} candidates: ${more} more, in ` +
    `${plural(held.repositories, 'repository')}, ${held.candidates === 1 ? 'is' : 'are'} not on it. ` +
    'They are not deleted now; the next scan proposes them again.'
  );
}
