import { itemKey as keyOf, pointersTo, scheduleDeletions } from './deletion-schedule';
import type { Plan, PlanItem } from './plan';
import type { DeleteResult, Progress, Registry } from './ports';
import { keepRetagged } from './recheck';
import { shortDigest } from './time-text';

/** What happened to one image the plan deleted. */
export type Outcome =
  | { readonly item: PlanItem; readonly status: 'deleted' }
  | { readonly item: PlanItem; readonly status: 'skipped'; readonly reason: string }
  | { readonly item: PlanItem; readonly status: 'failed'; readonly code: string; readonly message: string };

/**
 * Executes the deletions of a plan — the only place that deletes. Follows the deletion schedule
 * (referrers and indexes before what they point to, at most 100 per call); an image is skipped
 * when a manifest pointing to it could not be deleted. A failure of one request or repository is
 * recorded and the others go on. Repositories that are blocked or failed to list delete nothing.
 */
export async function executePlan(
  plan: Plan,
  registry: Pick<Registry, 'deleteImages'>,
  onProgress?: (progress: Progress) => void,
): Promise<Outcome[]> {
  const items = plan.repositories.flatMap((repository) =>
    repository.error === undefined && repository.blockedBy.length === 0 ? repository.items : [],
  );
  const batches = scheduleDeletions(items);
  const pointedBy = pointersTo(batches.flatMap((batch) => batch.items));
  const total = batches.reduce((sum, batch) => sum + batch.items.length, 0);
  const outcomes: Outcome[] = [];
  const notDeleted = new Set<string>();
  for (const batch of batches) {
    const ready: PlanItem[] = [];
    for (const item of batch.items) {
      const blocker = pointedBy.get(keyOf(item))?.find((pointer) => notDeleted.has(keyOf(pointer)));
      if (blocker === undefined) {
        ready.push(item);
        continue;
      }
      outcomes.push({
        item,
        status: 'skipped',
        reason: `${shortDigest(blocker.digest)}, which points to it, was not deleted`,
      });
      notDeleted.add(keyOf(item));
    }
    if (ready.length > 0) {
      for (const outcome of await deleteBatch(registry, batch.repository, ready)) {
        if (outcome.status !== 'deleted') notDeleted.add(keyOf(outcome.item));
        outcomes.push(outcome);
      }
    }
    onProgress?.({ phase: 'deleting', done: outcomes.length, total });
  }
  return outcomes;
}

/**
 * `gc`'s deletions: repository by repository, each one's candidates read again just before they
 * are deleted when the registry can (`Registry.currentTags`), and kept when their tags changed
 * since the listing (`keepRetagged`). A re-read that fails deletes nothing in that repository.
 */
export async function executePlanRechecked(
  plan: Plan,
  registry: Pick<Registry, 'deleteImages' | 'currentTags'>,
  onProgress?: (progress: Progress) => void,
): Promise<Outcome[]> {
  const deletable = plan.repositories
    .filter((repository) => repository.error === undefined && repository.blockedBy.length === 0)
    .map((repository) => ({
      repository,
      candidates: repository.items.filter((item) => item.decision === 'delete'),
    }));
  const total = deletable.reduce((sum, { candidates }) => sum + candidates.length, 0);
  const outcomes: Outcome[] = [];
  for (const { repository, candidates } of deletable) {
    if (candidates.length === 0) continue;
    let ready = candidates;
    if (registry.currentTags) {
      let current: ReadonlyMap<string, readonly string[]>;
      try {
        current = await registry.currentTags(
          repository.repository,
          candidates.map((item) => item.digest),
        );
      } catch (error) {
        const { code, message } = describeError(error);
        const reread = `not deleted: its tags could not be read again before deleting: ${message}`;
        for (const item of candidates) outcomes.push({ item, status: 'failed', code, message: reread });
        onProgress?.({ phase: 'deleting', done: outcomes.length, total });
        continue;
      }
      const checked = keepRetagged(repository.items, current);
      outcomes.push(...checked.skipped);
      ready = checked.ready;
      if (checked.skipped.length > 0) onProgress?.({ phase: 'deleting', done: outcomes.length, total });
    }
    const done = outcomes.length;
    const own = await executePlan(
      { createdAt: plan.createdAt, repositories: [{ ...repository, items: ready }] },
      registry,
      onProgress && ((progress) => onProgress({ ...progress, done: done + progress.done, total })),
    );
    outcomes.push(...own);
  }
  return outcomes;
}

async function deleteBatch(
  registry: Pick<Registry, 'deleteImages'>,
  repository: string,
  items: readonly PlanItem[],
): Promise<Outcome[]> {
  let results: readonly DeleteResult[];
  try {
    results = await registry.deleteImages(
      repository,
      items.map((item) => item.digest),
    );
  } catch (error) {
    const { code, message } = describeError(error);
    return items.map((item) => ({ item, status: 'failed', code, message }));
  }
  const byDigest = new Map(results.map((result) => [result.digest, result]));
  return items.map((item): Outcome => {
    const result = byDigest.get(item.digest);
    if (!result)
      return { item, status: 'failed', code: 'NoAnswer', message: 'the registry did not report this image' };
    if (result.status === 'failed')
      return { item, status: 'failed', code: result.code, message: result.message };
    return { item, status: 'deleted' };
  });
}

/**
 * The code and message of a request that failed as a whole. An adapter's error wraps the error it
 * met (an AWS `AccessDeniedException`, a network error): that error's name, when it has its own,
 * is the code shown, beside the adapter's message.
 */
function describeError(error: unknown): { code: string; message: string } {
  if (!(error instanceof Error)) return { code: 'Error', message: String(error) };
  const answer = error.cause instanceof Error && error.cause.name !== 'Error' ? error.cause : error;
  return { code: answer.name || 'Error', message: error.message };
}
