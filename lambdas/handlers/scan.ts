import { renderDigest } from '../core/digest';
import { messageOf } from '../core/errors';
import { stableHash } from '../core/hash';
import type { Sighting } from '../core/model';
import { listingCompleteness, planCleanup, type RepositoryListing, sightedDigestsOf } from '../core/plan';
import { type RepositorySummary, summarizeRepository } from '../core/plan-summary';
import type { Registry } from '../core/ports';
import type { Notifier, ScanQueue, ScanTask } from '../core/ports-scan';
import type { ScanConfig } from '../core/scan-config';
import type { Hmac } from '../core/signature';
import { linkSignature, reviewUrl } from '../core/signed-link';
import type { PlanRecord, PlanStore, SightingStore } from '../core/stores';
import { DAY_MS } from '../core/time-text';
import type { Log } from './http-api';

/** Everything a scan talks to; Lambda and `serve` wire different adapters behind the same ports. */
export interface ScanDeps {
  readonly registry: Registry;
  readonly sightings: SightingStore;
  readonly plans: PlanStore;
  readonly queue: ScanQueue;
  readonly notifier: Notifier;
  readonly config: ScanConfig;
  readonly policyHash: string;
  readonly linkSecret: () => Promise<string>;
  readonly hmac: Hmac;
  /** The API's base URL, for review links. */
  readonly reviewBaseUrl: string;
  /** Sightings read at scan time (ECS and Lambda usage) as of `now`; when they fail, the repository is not planned. */
  readonly usage?: (now: Date) => Promise<readonly Sighting[]>;
  /**
   * Starts the deleter of an approved plan again (see `resumeStaleApprovals`); without it, a scan
   * does not look for approvals left without their deletion.
   */
  readonly resumeDeletion?: (planId: string) => Promise<void>;
  readonly now: () => Date;
  readonly log: Log;
}

export interface StartedScan {
  readonly planId: string;
  /** False when this scheduled scan was started before (a redelivered event). */
  readonly started: boolean;
  readonly repositories: number;
  readonly reviewUrl: string;
  readonly error?: string;
}

/** One plan per scheduled time, safe in a URL path: `scan-20261122T0600Z`. */
export function planIdFor(scheduledAt: Date): string {
  return `scan-${scheduledAt.toISOString().slice(0, 16).replace(/[-:]/g, '')}Z`;
}

/**
 * How long after its approval a plan still APPROVED is taken to have lost its deletion: past the
 * life of the deleter's asynchronous event (kept up to 6 hours, then 15 minutes a run), so that
 * the deletion is not started twice.
 */
export const STALE_APPROVAL_MS = 7 * 60 * 60_000;

/**
 * Starts the deletion of plans that are still APPROVED seven hours after their approval: a review
 * function that stopped between the approval and the deleter's start, a deleter whose every
 * attempt failed, or `serve` stopped mid-deletion would otherwise leave them so for good, the page
 * saying pending. Every plan whose link can still be used is looked at (created within the link's
 * expiry). The deleter re-plans every approved image from a fresh listing and sightings, skips what
 * became protected, and a deleted outcome is final: running it again is harmless. Never fails the
 * scan: a plan that cannot be read or started is logged, and the next is looked at.
 */
export async function resumeStaleApprovals(
  plans: readonly PlanRecord[],
  deps: Pick<ScanDeps, 'plans' | 'now' | 'log' | 'resumeDeletion'>,
): Promise<string[]> {
  const resume = deps.resumeDeletion;
  if (!resume) return [];
  const now = deps.now().getTime();
  const resumed: string[] = [];
  for (const plan of plans) {
    if (plan.status !== 'APPROVED') continue;
    try {
      const approval = await deps.plans.approval(plan.id);
      if (!approval || !(approval.approvedAt.getTime() <= now - STALE_APPROVAL_MS)) continue;
      deps.log.error('an approved plan has no deletion running; starting it again', {
        planId: plan.id,
        approvedAt: approval.approvedAt.toISOString(),
      });
      await resume(plan.id);
      resumed.push(plan.id);
    } catch (error) {
      deps.log.error('could not start an approved deletion again', {
        planId: plan.id,
        error: messageOf(error),
      });
    }
  }
  return resumed;
}

/**
 * Starts a scan: creates the plan (once per id), lists the managed repositories and fans out one
 * task per repository. A registry that cannot be listed gives a FAILED plan that says why. Then
 * approvals left without their deletion are started again (`resumeStaleApprovals`), and a digest
 * left unsent is sent (`resendLostDigest`).
 */
export async function startScan(
  request: { scheduledAt: Date; planId?: string },
  deps: ScanDeps,
): Promise<StartedScan> {
  // After this scan's own work: a slow look at old approvals must not cost the scan its time.
  try {
    return await startPlan(request, deps);
  } finally {
    const recent = await recentPlans(deps);
    await resumeStaleApprovals(recent, deps);
    await resendLostDigest(recent, deps);
  }
}

/**
 * The plans whose link can still be used (created within the link's expiry, and a day), for the
 * looks a scan takes after its own work; none when they cannot be read (logged: it never fails the scan).
 */
async function recentPlans(deps: Pick<ScanDeps, 'plans' | 'config' | 'now' | 'log'>): Promise<PlanRecord[]> {
  const since = new Date(deps.now().getTime() - (deps.config.linkExpiryDays + 1) * DAY_MS);
  try {
    return await deps.plans.plansSince(since);
  } catch (error) {
    deps.log.error('could not read the recent plans to restart lost deletions and digests', {
      error: messageOf(error),
    });
    return [];
  }
}

/**
 * Sends the digest of the newest plan that is ready (PENDING) but whose digest was never sent:
 * its sending failed every attempt (an SQS dead letter, a full outbox in serve), and no one would
 * otherwise hear of it. Only when no newer plan's digest went out (that one supersedes it), and
 * only once its own worker has had `DIGEST_CLAIM_MS` to send it. Returns the plan's id, if any.
 */
export async function resendLostDigest(
  plans: readonly PlanRecord[],
  deps: ScanDeps,
): Promise<string | undefined> {
  const now = deps.now().getTime();
  try {
    const newestFirst = [...plans].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    for (const plan of newestFirst) {
      if (plan.digestSentAt !== undefined) return undefined;
      if (plan.status !== 'PENDING' || plan.createdAt.getTime() > now - DIGEST_CLAIM_MS) continue;
      // Its link would answer 410: no use sending it.
      if (plan.linkExp * 1000 <= now) return undefined;
      deps.log.warn("a plan's digest was never sent; sending it now", { planId: plan.id });
      await sendDigest(plan.id, deps);
      return plan.id;
    }
  } catch (error) {
    deps.log.error('could not send a digest left unsent', { error: messageOf(error) });
  }
  return undefined;
}

async function startPlan(
  request: { scheduledAt: Date; planId?: string },
  deps: ScanDeps,
): Promise<StartedScan> {
  const planId = request.planId ?? planIdFor(request.scheduledAt);
  const createdAt = deps.now();
  const linkExp = Math.floor(createdAt.getTime() / 1000 + (deps.config.linkExpiryDays * DAY_MS) / 1000);
  const url = reviewUrl(
    deps.reviewBaseUrl,
    planId,
    linkExp,
    linkSignature(deps.hmac, await deps.linkSecret(), planId, linkExp),
  );
  const header = { id: planId, createdAt, linkExp, policyHash: deps.policyHash };
  const existing = await deps.plans.getPlan(planId);
  if (existing) {
    // A retried or redelivered schedule event. One whose first run failed after creating the plan
    // would otherwise leave it off the dashboard's list, or (its tasks not all sent) SCANNING for
    // good, with no digest.
    await deps.plans.listPlan(existing);
    if (existing.status === 'SCANNING' && existing.tasksQueuedAt === undefined) {
      await resumeFanOut(existing, deps);
    } else if (existing.status === 'PENDING' && existing.digestSentAt === undefined) {
      // Assembled, but its digest could not be sent (a plan with no repository is assembled here).
      await sendDigest(planId, deps);
    }
    return { planId, started: false, repositories: 0, reviewUrl: url };
  }
  let repositories: string[];
  try {
    const listed = await deps.registry.listRepositories(deps.config.repositoryTag);
    repositories = listed.filter(deps.config.manages);
    const unmatched = deps.config.unmatchedGlobs(listed);
    if (unmatched.length > 0)
      deps.log.warn('configured repository globs match no repository (a typo?)', {
        planId,
        globs: unmatched,
        listed: listed.length,
        managed: repositories.length,
      });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.log.error('scan could not list repositories', { planId, error: message });
    await deps.plans.createPlan({ ...header, status: 'FAILED', totalRepositories: 0, error: message });
    return { planId, started: false, repositories: 0, reviewUrl: url, error: message };
  }
  const repositoriesHash = namesHash(repositories);
  if (
    !(await deps.plans.createPlan({ ...header, totalRepositories: repositories.length, repositoriesHash }))
  ) {
    return { planId, started: false, repositories: 0, reviewUrl: url };
  }
  deps.log.info('scan started', { planId, repositories: repositories.length });
  await fanOut(planId, repositories, deps);
  return { planId, started: true, repositories: repositories.length, reviewUrl: url };
}

/** `PlanRecord.repositoriesHash` of these names. */
const namesHash = (names: readonly string[]): string => stableHash([...names].sort());

/**
 * Sends one task per repository, then marks the plan's fan-out done (`tasksQueuedAt`); a plan
 * with no repository left to plan is assembled at once.
 */
async function fanOut(planId: string, repositories: readonly string[], deps: ScanDeps): Promise<void> {
  if (repositories.length > 0) {
    await deps.queue.enqueue(repositories.map((repository) => ({ planId, repository })));
  }
  await deps.plans.markTasksQueued(planId, deps.now());
  if (repositories.length === 0) await assemblePlan(planId, deps);
}

/**
 * Finishes the fan-out of a SCANNING plan that has no `tasksQueuedAt`: the tasks of the
 * repositories without a stored result are sent again (a task run twice is harmless: a
 * repository is stored once). The managed repositories are listed again; when they are no longer
 * those the plan counts, it cannot complete as it is, and that is logged (the next scheduled scan
 * makes a new one).
 */
async function resumeFanOut(plan: PlanRecord, deps: ScanDeps): Promise<void> {
  const repositories = (await deps.registry.listRepositories(deps.config.repositoryTag)).filter(
    deps.config.manages,
  );
  const changed =
    repositories.length !== plan.totalRepositories ||
    (plan.repositoriesHash !== undefined && namesHash(repositories) !== plan.repositoriesHash);
  if (changed) {
    deps.log.error('scan cannot resume: the managed repositories changed', {
      planId: plan.id,
      expected: plan.totalRepositories,
      listed: repositories.length,
    });
    return;
  }
  const stored = new Set((await deps.plans.summaries(plan.id)).map((summary) => summary.repository));
  const gone = [...stored].find((repository) => !repositories.includes(repository));
  if (gone !== undefined) {
    deps.log.error('scan cannot resume: a planned repository is no longer managed', {
      planId: plan.id,
      repository: gone,
    });
    return;
  }
  const missing = repositories.filter((repository) => !stored.has(repository));
  deps.log.info('scan resumed', { planId: plan.id, repositories: missing.length });
  await fanOut(plan.id, missing, deps);
}

/**
 * Plans one repository of a scan and stores its candidates; the worker that stores the last
 * repository assembles the plan. Safe to run twice with the same task.
 */
export async function scanRepository(task: ScanTask, deps: ScanDeps): Promise<void> {
  const plan = await deps.plans.getPlan(task.planId);
  if (!plan) throw new Error(`plan ${task.planId} does not exist`);
  if (plan.status !== 'SCANNING') {
    // A redelivered task: every repository was stored and the plan assembled (perhaps reviewed)
    // already; planning again would only do the work twice. A digest that could not be sent
    // then is sent now.
    deps.log.info('repository task of a plan no longer scanning: skipped', {
      planId: task.planId,
      repository: task.repository,
      status: plan.status,
    });
    if (plan.status === 'PENDING' && plan.digestSentAt === undefined) await sendDigest(task.planId, deps);
    return;
  }
  const now = deps.now();
  const [{ sightings, clusterReports }, usage] = await Promise.all([
    deps.sightings.snapshotFor(task.repository),
    readUsage(deps, now),
  ]);
  const listing: RepositoryListing =
    'error' in usage
      ? { repository: task.repository, error: usage.error }
      : await listRepository(task.repository, [...sightings, ...usage.sightings], deps);
  const hosts = await deps.registry.hosts();
  const planned = planCleanup({
    repositories: [listing],
    sightings: [...sightings, ...('error' in usage ? [] : usage.sightings)],
    clusterReports,
    policy: deps.config.policyFor,
    ...(hosts.length > 0 ? { registryHosts: hosts } : {}),
    now,
  }).repositories[0]!;
  const summary = summarizeRepository(planned);
  const candidates = planned.items.filter((item) => item.decision === 'delete');
  // Listing took a while: a plan assembled meanwhile (a resumed fan-out that counted without this
  // task) must not gain a repository after its digest went out.
  if ((await deps.plans.getPlan(task.planId))?.status !== 'SCANNING') {
    deps.log.warn('repository planned after its plan was assembled: not stored', {
      planId: task.planId,
      repository: task.repository,
    });
    return;
  }
  await deps.plans.putRepositoryPlan(task.planId, summary, candidates);
  deps.log.info('repository planned', {
    planId: task.planId,
    repository: task.repository,
    images: summary.totalImages,
    candidates: summary.candidates,
    blockedBy: summary.blockedBy.map((stale) => stale.cluster),
    ...(summary.error === undefined ? {} : { error: summary.error }),
  });
  if ((await deps.plans.storedRepositories(task.planId)) >= plan.totalRepositories)
    await assemblePlan(task.planId, deps);
}

/** ECS and Lambda usage; when it cannot be read, the repository is planned as unreadable (nothing deleted). */
async function readUsage(
  deps: ScanDeps,
  now: Date,
): Promise<{ sightings: readonly Sighting[] } | { error: string }> {
  if (!deps.usage) return { sightings: [] };
  try {
    return { sightings: await deps.usage(now) };
  } catch (error) {
    return {
      error: `images used by ECS or Lambda could not be read: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

async function listRepository(
  repository: string,
  sightings: readonly Sighting[],
  deps: ScanDeps,
): Promise<RepositoryListing> {
  try {
    const checkedDigests = sightedDigestsOf(sightings, repository);
    const images = await deps.registry.listImages(repository, undefined, checkedDigests);
    return { repository, images, ...listingCompleteness(deps.registry, checkedDigests) };
  } catch (error) {
    return { repository, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Completes a plan (SCANNING → PENDING, once) and sends its digest with the signed review
 * link; with nothing to review, only when `notifyWhenClean` is set.
 */
export async function assemblePlan(planId: string, deps: ScanDeps): Promise<void> {
  const summaries = await sortedSummaries(planId, deps);
  const candidates = summaries.reduce((total, summary) => total + summary.candidates, 0);
  const candidateBytes = summaries.reduce((total, summary) => total + summary.candidateBytes, 0);
  if (!(await deps.plans.completeScan(planId, { candidates, candidateBytes }))) return;
  await sendDigest(planId, deps, summaries);
}

/**
 * How long a worker that took a digest has to send it: a claim older than this was a worker that
 * failed (its task comes back after SQS's visibility timeout, 30 minutes) and is taken over.
 */
const DIGEST_CLAIM_MS = 10 * 60_000;

const sortedSummaries = async (planId: string, deps: ScanDeps): Promise<RepositorySummary[]> =>
  (await deps.plans.summaries(planId)).sort((a, b) => a.repository.localeCompare(b.repository));

/**
 * Sends a PENDING plan's digest, once: the worker that takes it (`claimDigest`) publishes, then
 * records it sent. When publishing fails, the claim is given back and the task fails; it comes
 * back (SQS redelivery, or serve's next attempt) and sends the digest then. A worker that died
 * holding the claim is taken over after `DIGEST_CLAIM_MS`.
 */
async function sendDigest(
  planId: string,
  deps: ScanDeps,
  known?: readonly RepositorySummary[],
): Promise<void> {
  if (!(await deps.plans.claimDigest(planId, deps.now(), DIGEST_CLAIM_MS))) return;
  const summaries = known ?? (await sortedSummaries(planId, deps));
  const plan = (await deps.plans.getPlan(planId))!;
  const sig = linkSignature(deps.hmac, await deps.linkSecret(), planId, plan.linkExp);
  const digest = renderDigest({
    planId,
    createdAt: plan.createdAt,
    repositories: summaries,
    reviewUrl: reviewUrl(deps.reviewBaseUrl, planId, plan.linkExp, sig),
    linkExpiresAt: new Date(plan.linkExp * 1000),
    now: deps.now(),
  });
  deps.log.info('plan ready', {
    planId,
    candidates: plan.candidates ?? 0,
    candidateBytes: plan.candidateBytes ?? 0,
    repositories: summaries.length,
  });
  if (!digest.allClean || deps.config.notifyWhenClean) {
    try {
      await deps.notifier.publish(digest);
    } catch (error) {
      await deps.plans.releaseDigest(planId);
      throw error;
    }
  }
  await deps.plans.markDigestSent(planId, deps.now());
}

/**
 * How long a scanner (a worker container, or serve) reuses one reading of what ECS and Lambda
 * run: every repository task needs it, and reading the whole account once per repository costs
 * calls and throttling. A scan only proposes; the deleter reads afresh before deleting anything.
 */
export const USAGE_REUSE_MS = 5 * 60_000;

/**
 * `read`, reusing a reading started less than `maxAgeMs` before `now` (one in flight included);
 * a reading that failed is not reused.
 */
export function reuseRecent<T>(read: (now: Date) => Promise<T>, maxAgeMs: number): (now: Date) => Promise<T> {
  let last: { readonly at: number; readonly value: Promise<T> } | undefined;
  return (now) => {
    if (last && now.getTime() - last.at < maxAgeMs && now.getTime() >= last.at) return last.value;
    const value = read(now);
    const reading = { at: now.getTime(), value };
    last = reading;
    value.catch(() => {
      if (last === reading) last = undefined;
    });
    return value;
  };
}
