import type { PlanItem } from './plan';
import type { RepositorySummary } from './plan-summary';
import type { PlanStatus } from './stores';

/** What happened to one approved image. */
export type ImageOutcome =
  | { readonly status: 'deleted' }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly error: string };

/** Who approved a plan, when, and what was asked. */
export interface Approval {
  readonly approvedAt: Date;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  /** `repository@digest` of every approved candidate. */
  readonly approved: readonly string[];
  /** What the form sent that is not a candidate of this plan, ignored (the first 1,000 when stored). */
  readonly ignored: readonly string[];
  /** How many were ignored, when the store kept only the first of them. @default ignored.length */
  readonly ignoredCount?: number;
}

/** Everything the review page shows, gathered by the review handler. */
export interface ReviewView {
  readonly planId: string;
  readonly createdAt: Date;
  readonly status: PlanStatus;
  /** The link's own `exp` and `sig`, echoed as hidden fields of the approval form. */
  readonly exp: string;
  readonly sig: string;
  readonly linkExpiresAt: Date;
  /** The path the form posts to: `/v1/plans/<id>/approve`. */
  readonly approvePath: string;
  readonly repositories: readonly {
    readonly summary: RepositorySummary;
    /** Candidates in plan order (roots newest first, each followed by its children and referrers). */
    readonly candidates: readonly PlanItem[];
  }[];
  /** Outcomes by `repository@digest`, once an approval exists. */
  readonly outcomes?: ReadonlyMap<string, ImageOutcome>;
  readonly approval?: Approval;
  /** Why the scan could not run (status FAILED). */
  readonly error?: string;
  /**
   * At most this many candidates on a pending plan's page (whole families, repositories in plan
   * order): a page, and the form it posts, must fit in one response and one request. The rest
   * are held back, said so, and not deleted; the next scan proposes them again.
   */
  readonly maxCandidates?: number;
  readonly now: Date;
}

/** The key of an image across repositories, as the form sends it: `repository@digest`. */
export function imageKey(item: { readonly repository: string; readonly digest: string }): string {
  return `${item.repository}@${item.digest}`;
}
