import pLimit from 'p-limit';
import { executePlanRechecked, type Outcome } from '../core/execute-plan';
import { renderRepositoryReport } from '../core/gc-report';
import type { ClusterReport, RegistryImage, Sighting } from '../core/model';
import {
  listingCompleteness,
  type Plan,
  planCleanup,
  type RepositoryListing,
  sightedDigestsOf,
} from '../core/plan';
import type { Policy } from '../core/policy';
import type { Progress, Registry } from '../core/ports';

/** Everything `registry-janitor gc` was asked, already validated. */
export interface GcRequest {
  /** Repositories to clean; empty means every repository the registry lists. */
  readonly repositories: readonly string[];
  readonly policy: Policy;
  readonly sightings: readonly Sighting[];
  /** Each report's cluster and time, empty ones included: a cluster's last report is the newest. */
  readonly clusterReports?: readonly ClusterReport[];
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
  /** Repositories listed at once. @default 4 */
  readonly concurrency?: number;
}

/** The world `gc` talks to: a registry, a clock, output streams and a progress sink. */
export interface GcDeps {
  readonly registry: Registry;
  readonly now: () => Date;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly progress?: (progress: Progress) => void;
  /**
   * More sightings read at run time (`--aws-usage`), observed at the run's `now` so that they
   * protect even with `--unused-days 0`; when it fails, nothing is deleted.
   */
  readonly usage?: (now: Date) => Promise<readonly Sighting[]>;
}

/**
 * One `gc` run: list, plan, execute (unless a dry run), report. Returns the exit code: 0 when
 * all went well, 1 when anything failed at run time (whatever could not be decided was kept).
 */
export async function runGc(request: GcRequest, deps: GcDeps): Promise<number> {
  const now = deps.now();
  let sightings = request.sightings;
  if (deps.usage) {
    try {
      sightings = [...sightings, ...(await deps.usage(now))];
    } catch (error) {
      deps.stderr(`error: ${error instanceof Error ? error.message : String(error)}`);
      deps.stderr('Nothing was deleted: images in use elsewhere could not be ruled out.');
      return 1;
    }
  }
  const repositories =
    request.repositories.length > 0 ? request.repositories : await deps.registry.listRepositories();
  let rehearsals = 0;
  const rehearse = (repository: string) => (page: readonly RegistryImage[]) => {
    if (rehearsals++ < REHEARSALS) rehearsePlan(repository, page, request.policy, now);
  };
  const listings = await listAll(repositories, sightings, deps, request.concurrency ?? 4, rehearse);
  const hosts = await deps.registry.hosts();
  const plan = planCleanup({
    repositories: listings,
    sightings,
    ...(request.clusterReports ? { clusterReports: request.clusterReports } : {}),
    policy: request.policy,
    ...(hosts.length > 0 ? { registryHosts: hosts } : {}),
    now,
  });
  const outcomes = request.dryRun ? [] : await executePlanRechecked(plan, deps.registry, deps.progress);
  if (request.json) deps.stdout(JSON.stringify(toJson(plan, outcomes, request.dryRun), null, 2));
  else printText(plan, outcomes, request, deps, now);
  for (const repository of plan.repositories) {
    if (repository.error !== undefined) deps.stderr(`error: ${repository.repository}: ${repository.error}`);
    if (repository.blockedBy.length > 0) {
      const names = repository.blockedBy.map((stale) => stale.cluster).join(', ');
      deps.stderr(`warning: ${repository.repository}: deletions blocked, no recent report from ${names}`);
    }
  }
  const failed = plan.repositories.some((repository) => repository.error !== undefined);
  return failed || outcomes.some((outcome) => outcome.status !== 'deleted') ? 1 : 0;
}

/**
 * Plans one page of a long listing while the next page is fetched, and drops the plan. The CPU
 * is idle then, and the real plan, made once everything is listed, would otherwise run its code
 * for the first time, before the JIT has compiled it: on 10,000 images this takes ~25 ms off
 * what `gc` does after the last answer, ~15 ms off its wall time (`npm run bench`). No sightings
 * (indexing them again for each page could outlast the wait); nothing of it is kept, and any
 * failure is the real plan's to report. The first `REHEARSALS` pages of a run are enough: by
 * then the code is compiled, and a large account's listing is not made to plan twice.
 */
function rehearsePlan(repository: string, page: readonly RegistryImage[], policy: Policy, now: Date): void {
  try {
    planCleanup({ repositories: [{ repository, images: page }], sightings: [], policy, now });
  } catch {
    // Only a rehearsal.
  }
}

/** How many pages a run rehearses its plan on (see `rehearsePlan`). */
const REHEARSALS = 10;

async function listAll(
  repositories: readonly string[],
  sightings: readonly Sighting[],
  deps: GcDeps,
  concurrency: number,
  rehearse: (repository: string) => (page: readonly RegistryImage[]) => void,
): Promise<RepositoryListing[]> {
  const limit = pLimit(concurrency);
  let listed = 0;
  return Promise.all(
    repositories.map((repository) =>
      limit(async (): Promise<RepositoryListing> => {
        try {
          const checkedDigests = sightedDigestsOf(sightings, repository);
          const images = await deps.registry.listImages(
            repository,
            deps.progress,
            checkedDigests,
            rehearse(repository),
          );
          return { repository, images, ...listingCompleteness(deps.registry, checkedDigests) };
        } catch (error) {
          return { repository, error: error instanceof Error ? error.message : String(error) };
        } finally {
          listed++;
          deps.progress?.({ phase: 'repositories listed', done: listed, total: repositories.length });
        }
      }),
    ),
  );
}

function printText(
  plan: Plan,
  outcomes: readonly Outcome[],
  request: GcRequest,
  deps: GcDeps,
  now: Date,
): void {
  for (const repository of plan.repositories) {
    const own = outcomes.filter((outcome) => outcome.item.repository === repository.repository);
    const options = { label: deps.registry.label, verbose: request.verbose, dryRun: request.dryRun, now };
    // One write a repository: 10,000 lines written one by one to a pipe cost more than planning them.
    deps.stdout(renderRepositoryReport(repository, own, options).join('\n'));
  }
}

function toJson(plan: Plan, outcomes: readonly Outcome[], dryRun: boolean): unknown {
  return {
    dryRun,
    createdAt: plan.createdAt.toISOString(),
    repositories: plan.repositories.map((repository) => ({
      repository: repository.repository,
      totalImages: repository.totalImages,
      ...(repository.error === undefined ? {} : { error: repository.error }),
      blockedBy: repository.blockedBy.map((stale) => ({
        cluster: stale.cluster,
        lastReportAt: stale.lastReportAt.toISOString(),
        ...(stale.incomplete ? { incomplete: true } : {}),
        ...(stale.lastPartAt ? { lastPartAt: stale.lastPartAt.toISOString() } : {}),
      })),
      images: repository.items.map((item) => ({
        digest: item.digest,
        tags: item.tags,
        pushedAt: item.pushedAt.toISOString(),
        sizeBytes: item.sizeBytes,
        role: item.role,
        root: item.root,
        decision: item.decision,
        reason: item.reason,
      })),
    })),
    outcomes: outcomes.map((outcome) => ({
      repository: outcome.item.repository,
      digest: outcome.item.digest,
      tags: outcome.item.tags,
      status: outcome.status,
      ...(outcome.status === 'skipped' ? { reason: outcome.reason } : {}),
      ...(outcome.status === 'failed' ? { code: outcome.code, message: outcome.message } : {}),
    })),
  };
}
