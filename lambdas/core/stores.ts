import type { ClusterReport, Sighting } from './model';
import type { PlanItem } from './plan';
import type { RepositorySummary } from './plan-summary';
import type { Approval, ImageOutcome } from './review-view';

/** What recording one report cost, for logs and benchmarks. */
export interface RecordResult {
  /** Distinct sightings in the report. */
  readonly distinct: number;
  /** Sightings written (new, or last seen long enough ago to be worth a write). */
  readonly written: number;
  /**
   * Whether the cluster's last report moved to this one: not for an older report arriving late,
   * nor for a part of a report whose other parts have not all arrived.
   */
  readonly reported: boolean;
}

/**
 * Where sightings live between a report and a scan. Recording is all or nothing from the
 * reporter's point of view: when it throws, the report must be sent again (repeats are harmless),
 * and the cluster's heartbeat moves only once every sighting of the report is stored.
 */
export interface SightingStore {
  recordReport(report: {
    readonly cluster: string;
    readonly observedAt: Date;
    readonly sightings: readonly Sighting[];
    /** Which part of a report of several bodies this is; `key` names the report (its `observedAt` as sent). */
    readonly round?: { readonly key: string; readonly part: number; readonly parts: number };
  }): Promise<RecordResult>;
  /** Every sighting of a repository path, from every cluster and host ('' for bare digests). */
  sightingsOf(repository: string): Promise<Sighting[]>;
  /** Each cluster's last report. */
  clusterReports(): Promise<ClusterReport[]>;
  /**
   * What a scan or the deleter needs for one repository: every cluster's last report, read first
   * (a report stores its sightings before its heartbeat, so sightings read after a heartbeat
   * include that report's), then the repository's sightings and the bare-digest ones.
   */
  snapshotFor(repository: string): Promise<{ sightings: Sighting[]; clusterReports: ClusterReport[] }>;
}

/** Where a plan is in its life. */
export type PlanStatus = 'SCANNING' | 'FAILED' | 'PENDING' | 'APPROVED' | 'APPLIED';

/** A plan's header. */
export interface PlanRecord {
  readonly id: string;
  readonly createdAt: Date;
  readonly status: PlanStatus;
  readonly totalRepositories: number;
  /** Unix seconds after which its review link answers 410. */
  readonly linkExp: number;
  readonly policyHash: string;
  readonly candidates?: number;
  readonly candidateBytes?: number;
  /** Why the scan could not run (status FAILED). */
  readonly error?: string;
  /** When its digest was published (or found to need none). */
  readonly digestSentAt?: Date;
  /** When every repository's task was sent (`startScan`); absent while the fan-out may be unfinished. */
  readonly tasksQueuedAt?: Date;
  /**
   * A hash of the planned repositories' names (`stableHash` of them sorted): a fan-out resumed
   * later goes on only with the same repositories, not merely as many.
   */
  readonly repositoriesHash?: string;
}

/** A page of a repository's candidates. */
export interface CandidatePage {
  readonly items: readonly PlanItem[];
  /** Pass back to read the next page; undefined on the last. */
  readonly next?: string;
}

/**
 * Plans: a header, one summary per repository and the candidates in pages, written by the
 * scan's workers (each repository once, whatever the redeliveries) and read by the review page.
 */
export interface PlanStore {
  /** False when a plan with this id exists already (a redelivered schedule event). */
  createPlan(
    plan: Omit<PlanRecord, 'status' | 'doneRepositories'> & { readonly status?: PlanStatus },
  ): Promise<boolean>;
  /**
   * Writes the plan's entry in the list of recent plans (`recentPlans`), again if it is there:
   * `createPlan` writes it after the plan, and a retried scan writes it again, in case the first
   * attempt stopped between the two.
   */
  listPlan(plan: Pick<PlanRecord, 'id' | 'createdAt' | 'linkExp'>): Promise<void>;
  getPlan(id: string): Promise<PlanRecord | undefined>;
  /** Records that every repository's task of the plan was sent. */
  markTasksQueued(planId: string, at: Date): Promise<void>;
  /** Stores one repository's result; false when it was stored already. */
  putRepositoryPlan(
    planId: string,
    summary: RepositorySummary,
    candidates: readonly PlanItem[],
  ): Promise<boolean>;
  /** How many repositories of the plan are stored (each counted once, whatever the redeliveries). */
  storedRepositories(planId: string): Promise<number>;
  /** Moves SCANNING to PENDING once, with the totals; false when another worker did it. */
  completeScan(
    planId: string,
    totals: { readonly candidates: number; readonly candidateBytes: number },
  ): Promise<boolean>;
  /**
   * Takes the sending of a PENDING plan's digest, once: false when it was sent, or another worker
   * took it less than `staleAfterMs` ago (one whose publishing failed is retried after that).
   */
  claimDigest(planId: string, now: Date, staleAfterMs: number): Promise<boolean>;
  /** Gives a claimed digest back after publishing failed, so that a retry may take it at once. */
  releaseDigest(planId: string): Promise<void>;
  /** Records that the digest went out (or needed not). */
  markDigestSent(planId: string, at: Date): Promise<void>;
  summaries(planId: string): Promise<RepositorySummary[]>;
  candidates(planId: string, repository: string, cursor?: string): Promise<CandidatePage>;
  /** The newest plans first. */
  recentPlans(limit: number): Promise<PlanRecord[]>;
  /** Every plan created at `since` or later, oldest first. */
  plansSince(since: Date): Promise<PlanRecord[]>;
  /** Records the approval and moves PENDING to APPROVED, once: false when the plan was not PENDING. */
  approve(planId: string, approval: Approval): Promise<boolean>;
  /**
   * Takes back the approval made at `approvedAt` when its deletion could not be started: APPROVED
   * moves back to PENDING, so that the form can be sent again. False when the plan no longer
   * holds that approval.
   */
  withdrawApproval(planId: string, approvedAt: Date): Promise<boolean>;
  approval(planId: string): Promise<Approval | undefined>;
  /**
   * Records outcomes by `repository@digest`; a later record of the same image replaces it, unless
   * that image was recorded `deleted` (final: an overlapping run must not write `skipped` over it).
   */
  recordOutcomes(planId: string, outcomes: ReadonlyMap<string, ImageOutcome>): Promise<void>;
  outcomes(planId: string): Promise<Map<string, ImageOutcome>>;
  /** Moves APPROVED to APPLIED (the deleter calls it once every approved image has an outcome); false when it was not APPROVED. */
  finishApply(planId: string): Promise<boolean>;
}
