import { powertoolsLog } from '../adapters/log';
import { executePlan, type Outcome } from '../core/execute-plan';
import type { Sighting } from '../core/model';
import {
  listingCompleteness,
  type PlanItem,
  planCleanup,
  type RepositoryListing,
  sightedDigestsOf,
} from '../core/plan';
import type { Registry } from '../core/ports';
import { recheckRepository } from '../core/recheck';
import { type ImageOutcome, imageKey } from '../core/review-view';
import type { ScanConfig } from '../core/scan-config';
import type { PlanStore, SightingStore } from '../core/stores';
import { janitorEnvironment } from './aws-environment';
import type { Log } from './http-api';
import { reuseRecent } from './scan';

export interface DeleteDeps {
  readonly registry: Registry;
  readonly sightings: SightingStore;
  readonly plans: PlanStore;
  readonly config: ScanConfig;
  readonly usage?: (now: Date) => Promise<readonly Sighting[]>;
  readonly now: () => Date;
  readonly log: Log;
}

/**
 * Deletes what a person approved, and nothing else: per repository, re-plans from a fresh
 * listing, fresh sightings and pull times, skips (with the reason) any approved image that
 * became protected, changed tags or family, or whose root was not approved, deletes the rest in
 * the core's order and batches, and records an outcome per image. Safe to run again: images
 * with an outcome are done, and an image already gone counts as deleted.
 */
export async function applyApproval(planId: string, given: DeleteDeps): Promise<void> {
  // What ECS and Lambda run is read again before each repository's deletions, but not more than
  // once a minute: a reading enumerates the whole account, and an approval may span hundreds of
  // repositories within the deleter's 15 minutes.
  const deps = given.usage ? { ...given, usage: reuseRecent(given.usage, DELETER_USAGE_REUSE_MS) } : given;
  const plan = await deps.plans.getPlan(planId);
  if (plan?.status !== 'APPROVED') return;
  const approval = await deps.plans.approval(planId);
  if (!approval) return;
  const approved = new Set(approval.approved);
  const done = await deps.plans.outcomes(planId);
  const byRepository = new Map<string, PlanItem[]>();
  for (const summary of await deps.plans.summaries(planId)) {
    const items = await allCandidates(deps.plans, planId, summary.repository);
    const todo = items.filter((item) => approved.has(imageKey(item)) && !done.has(imageKey(item)));
    if (todo.length > 0) byRepository.set(summary.repository, todo);
  }
  for (const [repository, todo] of byRepository) {
    const outcomes = await applyRepository(repository, todo, approved, deps);
    await deps.plans.recordOutcomes(planId, outcomes);
    deps.log.info('approved deletions applied', { planId, repository, ...count(outcomes) });
  }
  // APPLIED says every approved image has its outcome: check it rather than assume it.
  const recorded = await deps.plans.outcomes(planId);
  const missing = approval.approved.filter((key) => !recorded.has(key));
  if (missing.length > 0) {
    deps.log.error('approved images without an outcome; the plan stays APPROVED', {
      planId,
      missing: missing.length,
      first: missing[0],
    });
    return;
  }
  await deps.plans.finishApply(planId);
}

async function applyRepository(
  repository: string,
  todo: readonly PlanItem[],
  approved: ReadonlySet<string>,
  deps: DeleteDeps,
): Promise<Map<string, ImageOutcome>> {
  const outcomes = new Map<string, ImageOutcome>();
  const fresh = await freshPlan(
    repository,
    todo.map((item) => item.digest),
    deps,
  );
  if ('error' in fresh) {
    for (const item of todo)
      outcomes.set(imageKey(item), { status: 'skipped', reason: `could not re-check: ${fresh.error}` });
    return outcomes;
  }
  const checked = recheckRepository(todo, fresh.items, (repo, digest) => approved.has(`${repo}@${digest}`));
  for (const [item, outcome] of checked.outcomes) outcomes.set(imageKey(item), outcome);
  const { ready } = checked;
  const executed = await executePlan(
    {
      createdAt: deps.now(),
      repositories: [{ repository, totalImages: ready.length, items: ready, blockedBy: [] }],
    },
    deps.registry,
  );
  for (const outcome of executed) outcomes.set(imageKey(outcome.item), toImageOutcome(outcome));
  return outcomes;
}

/**
 * A plan of the repository made now, the way the scan makes it. On a registry that lists only
 * what tags reach, the approved digests are read by digest too: one whose tag was removed since
 * the scan is still there, and must not be taken for already deleted.
 */
async function freshPlan(
  repository: string,
  approvedDigests: readonly string[],
  deps: DeleteDeps,
): Promise<{ items: Map<string, PlanItem> } | { error: string }> {
  const now = deps.now();
  let listing: RepositoryListing;
  let usage: readonly Sighting[];
  try {
    usage = deps.usage ? await deps.usage(now) : [];
    // The digests running so far are read with the listing (a running untagged index on an OCI
    // registry); sightings are read again after it, so that the decision sees the newest.
    const before = deps.registry.listsEveryManifest
      ? []
      : (await deps.sightings.snapshotFor(repository)).sightings;
    const checkedDigests = deps.registry.listsEveryManifest
      ? []
      : [...new Set([...sightedDigestsOf([...before, ...usage], repository), ...approvedDigests])];
    const images = await deps.registry.listImages(repository, undefined, checkedDigests);
    listing = { repository, images, ...listingCompleteness(deps.registry, checkedDigests) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const [{ sightings, clusterReports }, hosts] = await Promise.all([
    deps.sightings.snapshotFor(repository),
    deps.registry.hosts(),
  ]);
  const planned = planCleanup({
    repositories: [listing],
    sightings: [...sightings, ...usage],
    clusterReports,
    policy: deps.config.policyFor,
    ...(hosts.length > 0 ? { registryHosts: hosts } : {}),
    now,
  }).repositories[0]!;
  return { items: new Map(planned.items.map((item) => [item.digest, item])) };
}

async function allCandidates(plans: PlanStore, planId: string, repository: string): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await plans.candidates(planId, repository, cursor);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return items;
}

function toImageOutcome(outcome: Outcome): ImageOutcome {
  if (outcome.status === 'deleted') return { status: 'deleted' };
  if (outcome.status === 'skipped') return { status: 'skipped', reason: outcome.reason };
  return { status: 'failed', error: `${outcome.code}: ${outcome.message}` };
}

function count(outcomes: ReadonlyMap<string, ImageOutcome>): Record<string, number> {
  const counts: Record<string, number> = { deleted: 0, skipped: 0, failed: 0 };
  for (const outcome of outcomes.values()) counts[outcome.status] = (counts[outcome.status] ?? 0) + 1;
  return counts;
}

/** How long one deletion run reuses a reading of what ECS and Lambda run. */
export const DELETER_USAGE_REUSE_MS = 60_000;

let lambdaDeps: DeleteDeps | undefined;

/** The deployed deleter's deps, built once per container from its environment. */
function depsFromEnvironment(env: NodeJS.ProcessEnv = process.env): DeleteDeps {
  const { registry, sightings, plans, config, usage } = janitorEnvironment(env);
  return {
    registry,
    sightings,
    plans,
    config,
    ...(usage ? { usage } : {}),
    now: () => new Date(),
    log: powertoolsLog('registry-janitor-delete'),
  };
}

/**
 * The Lambda entry point, invoked asynchronously with `{ planId }` by the review function, and by
 * the scan schedule for an approval left without its deletion (`resumeStaleApprovals`).
 */
export async function handler(event: { readonly planId?: unknown }): Promise<void> {
  if (typeof event.planId !== 'string' || event.planId === '')
    throw new Error('the deleter needs { planId }');
  lambdaDeps ??= depsFromEnvironment();
  await applyApproval(event.planId, lambdaDeps);
}
