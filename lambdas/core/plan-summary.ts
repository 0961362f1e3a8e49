import { isIndex } from './model';
import type { PlanItem, RepositoryPlan, StaleCluster } from './plan';

/** A repository of a plan as a digest and a dashboard show it. */
export interface RepositorySummary {
  readonly repository: string;
  readonly totalImages: number;
  readonly candidates: number;
  readonly candidateBytes: number;
  /** Why candidates are candidates, most common first. */
  readonly topReasons: readonly { readonly reason: string; readonly count: number }[];
  readonly blockedBy: readonly StaleCluster[];
  readonly error?: string;
}

/** Summarises one repository plan: candidates, their bytes, and the reasons behind them. */
export function summarizeRepository(plan: RepositoryPlan, maxReasons = 3): RepositorySummary {
  let candidates = 0;
  let candidateBytes = 0;
  const reasons = new Map<string, number>();
  for (const item of plan.items) {
    if (item.decision !== 'delete') continue;
    candidates++;
    candidateBytes += ownBytes(item);
    const category = reasonCategory(item.reason);
    reasons.set(category, (reasons.get(category) ?? 0) + 1);
  }
  const topReasons = [...reasons]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
    .slice(0, maxReasons);
  return {
    repository: plan.repository,
    totalImages: plan.totalImages,
    candidates,
    candidateBytes,
    topReasons,
    blockedBy: plan.blockedBy,
    ...(plan.error === undefined ? {} : { error: errorText(plan.error) }),
  };
}

/** The most of a repository's error a summary keeps: it is stored in the plan, shown on every page. */
export const MAX_ERROR_TEXT = 2_000;

/** `error`, cut to `MAX_ERROR_TEXT` characters: a registry's message can be of any length. */
export function errorText(error: string): string {
  return error.length > MAX_ERROR_TEXT ? `${cutText(error, MAX_ERROR_TEXT)}… (cut)` : error;
}

/**
 * The first `most` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair (a
 * lone surrogate is not valid UTF-8, and DynamoDB refuses it).
 */
export function cutText(text: string, most: number): string {
  const code = text.charCodeAt(most - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? most - 1 : most);
}

/**
 * The rule part of a reason, without what is particular to one image (when it was last seen,
 * which index it belongs to), so that reasons can be counted.
 *
 * @example
 * reasonCategory('delete: untagged, last seen in prod 12 days ago') // 'delete: untagged'
 */
export function reasonCategory(reason: string): string {
  if (/^delete: part of /.test(reason)) return 'delete: platform image of a deleted index';
  if (/^delete: referrer of /.test(reason)) return 'delete: signature or attestation of a deleted image';
  return reason.replace(/, (never seen|last seen .*|last pulled .*)$/, '');
}

/**
 * The bytes an image's deletion counts for in totals: the size the registry lists, except for an
 * index, whose listed size is its largest platform image's (ECR: "the max size of all manifests
 * in the list"), counted with that image already. A size that is not a positive number counts 0.
 */
export function ownBytes(item: Pick<PlanItem, 'sizeBytes' | 'mediaType'>): number {
  if (isIndex(item)) return 0;
  return Number.isFinite(item.sizeBytes) && item.sizeBytes > 0 ? Math.round(item.sizeBytes) : 0;
}
