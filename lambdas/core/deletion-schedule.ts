import { getOrCreate } from './collections';
import type { PlanItem } from './plan';

/** The most image ids one registry call may delete (ECR's BatchDeleteImage limit). */
export const MAX_BATCH = 100;

/** One deletion request: images of one repository that can go together. */
export interface DeletionBatch {
  readonly repository: string;
  /** 0 for manifests nothing else to delete points to; each later step follows the ones before. */
  readonly step: number;
  readonly items: readonly PlanItem[];
}

/**
 * Orders the deletions of one repository: a manifest is deleted in an earlier request than any
 * manifest it points to (referrers before their subject, an index before its children; ECR
 * refuses a child while its index exists, even within the same call), in batches of at most
 * `MAX_BATCH`. Items keep their plan order within a step.
 *
 * @example
 * scheduleDeletions(items) // [{ step: 0, items: [index, signature] }, { step: 1, items: [amd64, arm64] }]
 */
export function scheduleDeletions(items: readonly PlanItem[], maxBatch = MAX_BATCH): DeletionBatch[] {
  const toDelete = items.filter((item) => item.decision === 'delete');
  const steps = stepsOf(toDelete);
  const byRepositoryAndStep = new Map<string, Map<number, PlanItem[]>>();
  for (const item of toDelete) {
    const repository = getOrCreate(byRepositoryAndStep, item.repository, () => new Map());
    const step = steps.get(itemKey(item))!;
    const list = getOrCreate(repository, step, () => []);
    list.push(item);
  }
  const batches: DeletionBatch[] = [];
  for (const [repository, byStep] of byRepositoryAndStep) {
    for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
      const list = byStep.get(step)!;
      for (let i = 0; i < list.length; i += maxBatch) {
        batches.push({ repository, step, items: list.slice(i, i + maxBatch) });
      }
    }
  }
  return batches;
}

/** For each `repository@digest`, the items to delete that point to it (its index, or its referrers). */
export function pointersTo(items: readonly PlanItem[]): Map<string, PlanItem[]> {
  const pointedBy = new Map<string, PlanItem[]>();
  for (const item of items) {
    for (const target of item.references)
      getOrCreate(pointedBy, `${item.repository}@${target}`, () => []).push(item);
  }
  return pointedBy;
}

/** `repository@digest`: the key of an image across repositories. */
export function itemKey(item: Pick<PlanItem, 'repository' | 'digest'>): string {
  return `${item.repository}@${item.digest}`;
}

/** Step of each item: 0 when no other item to delete points to it, else one more than its latest pointer. */
function stepsOf(toDelete: readonly PlanItem[]): Map<string, number> {
  const pointedBy = pointersTo(toDelete);
  const steps = new Map<string, number>();
  const visiting = new Set<string>();
  const stepOf = (key: string): number => {
    const known = steps.get(key);
    if (known !== undefined) return known;
    if (visiting.has(key)) return 0;
    visiting.add(key);
    let step = 0;
    for (const pointer of pointedBy.get(key) ?? []) step = Math.max(step, stepOf(itemKey(pointer)) + 1);
    visiting.delete(key);
    steps.set(key, step);
    return step;
  };
  for (const item of toDelete) stepOf(itemKey(item));
  return steps;
}
