import type { Cron } from 'croner';
import { hmacSha256Hex } from '../adapters/crypto';
import { renderDashboard } from '../core/dashboard-page';
import type { Registry } from '../core/ports';
import { linkSignature, reviewUrl } from '../core/signed-link';
import type { PlanStore, SightingStore } from '../core/stores';
import { type HttpApiEvent, type HttpApiResult, json } from '../handlers/http-api';
import { handleIngest, type IngestDeps } from '../handlers/ingest';
import { handleApprove, handleReview, REVIEW_HEADERS, type ReviewDeps } from '../handlers/review';
import { type ScanDeps, type StartedScan, startScan } from '../handlers/scan';
import type { Route } from './http-server';
import type { InProcessScanQueue } from './in-process-queue';
import type { ServeConfig } from './serve-config';

export interface LocalRouteDeps {
  readonly baseUrl: string;
  readonly registry: Registry;
  readonly config: ServeConfig;
  readonly scanDeps: ScanDeps;
  readonly reviewDeps: ReviewDeps;
  readonly ingestDeps: IngestDeps;
  readonly queue: InProcessScanQueue;
  readonly cron: Cron;
  readonly linkSecret: string;
  readonly plans: PlanStore;
  readonly sightings: SightingStore;
  /**
   * Show signed review links on the dashboard and in the answer of `POST /v1/scans`. Only on
   * loopback: anyone who can reach those (they have no password) could otherwise approve deletions.
   */
  readonly showReviewLinks: boolean;
}

/**
 * The routes of `serve`: the deployed API (ingest, review, approve) plus what only a local janitor
 * has: `POST /v1/scans` (scan now), `GET /v1/health` and the dashboard at `/`.
 */
export function localRoutes(deps: LocalRouteDeps): { list: Route[]; scan(at: Date): Promise<StartedScan> } {
  const scan = (at: Date) => startScan({ scheduledAt: at, planId: manualPlanId(at) }, deps.scanDeps);
  const list: Route[] = [
    { method: 'POST', path: '/v1/sightings', handle: (event) => handleIngest(event, deps.ingestDeps) },
    { method: 'GET', path: '/v1/plans/{id}', handle: (event) => handleReview(event, deps.reviewDeps) },
    {
      method: 'POST',
      path: '/v1/plans/{id}/approve',
      handle: (event) => handleApprove(event, deps.reviewDeps),
    },
    {
      method: 'POST',
      path: '/v1/scans',
      handle: (event) => scanNow(event, scan, deps),
    },
    { method: 'GET', path: '/v1/health', handle: () => health(deps) },
    { method: 'GET', path: '/', handle: () => dashboard(deps) },
  ];
  return { list, scan };
}

/** A plan id for a scan started at `at`, to the second: `scan-20261122T061502Z`. */
function manualPlanId(at: Date): string {
  return `scan-${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/**
 * Starts a scan now; `?wait=true` answers once the plan is complete. One scan at a time, as the
 * schedule does: while one runs, 409 names its plan (two would compete for the registry, and mail
 * two digests); so does a second scan started within the same second, whose plan id is taken.
 */
async function scanNow(
  event: HttpApiEvent,
  scan: (at: Date) => Promise<StartedScan>,
  deps: Pick<LocalRouteDeps, 'queue' | 'plans' | 'showReviewLinks'>,
): Promise<HttpApiResult> {
  const { queue, plans, showReviewLinks } = deps;
  const waitParameter = event.queryStringParameters?.wait;
  if (waitParameter !== undefined && waitParameter !== 'true' && waitParameter !== 'false') {
    return json(400, { message: `wait must be true or false, got '${waitParameter.slice(0, 40)}'` });
  }
  if (queue.busy) {
    const running = queue.plans;
    return json(409, {
      message: `a scan is running (plan ${running.join(', ')}); send this again once it is done`,
      planIds: running,
    });
  }
  const started = await scan(new Date());
  if (!started.started) {
    const existing = await plans.getPlan(started.planId);
    return json(409, {
      message: `a scan was started this second already (plan ${started.planId}); send this again`,
      planId: started.planId,
      ...(existing ? { status: existing.status } : {}),
      ...(existing?.error === undefined ? {} : { error: existing.error }),
    });
  }
  const wait = waitParameter === 'true';
  if (wait) await queue.drained();
  const body = {
    planId: started.planId,
    // Off loopback the link stays in the outbox digest: this answer has no password.
    ...(showReviewLinks ? { reviewUrl: started.reviewUrl } : {}),
    repositories: started.repositories,
    started: started.started,
    ...(started.error === undefined ? {} : { error: started.error }),
  };
  return json(started.error ? 200 : wait ? 200 : 202, body);
}

async function health(deps: LocalRouteDeps): Promise<HttpApiResult> {
  const [latest] = await deps.plans.recentPlans(1);
  const next = deps.cron.nextRun();
  return json(200, {
    status: 'ok',
    registry: deps.registry.label,
    schedule: deps.config.schedule,
    ...(next ? { nextScanAt: next.toISOString() } : {}),
    ...(latest
      ? { lastScan: { planId: latest.id, status: latest.status, createdAt: latest.createdAt.toISOString() } }
      : {}),
  });
}

async function dashboard(deps: LocalRouteDeps): Promise<HttpApiResult> {
  const records = await deps.plans.recentPlans(20);
  const plans = await Promise.all(
    records.map(async (record) => {
      const sig = linkSignature(hmacSha256Hex, deps.linkSecret, record.id, record.linkExp);
      const decided = record.status === 'APPROVED' || record.status === 'APPLIED';
      const assembled = record.status !== 'SCANNING' && record.status !== 'FAILED';
      const summaries = assembled ? await deps.plans.summaries(record.id) : [];
      return {
        record,
        ...(deps.showReviewLinks
          ? { reviewUrl: reviewUrl(deps.baseUrl, record.id, record.linkExp, sig) }
          : {}),
        ...(decided ? { outcomes: await deps.plans.outcomes(record.id) } : {}),
        unscanned: summaries
          .filter((summary) => summary.error !== undefined)
          .map((summary) => summary.repository),
        blocked: summaries
          .filter((summary) => summary.blockedBy.length > 0)
          .map((summary) => summary.repository),
      };
    }),
  );
  const next = deps.cron.nextRun();
  const body = renderDashboard({
    now: new Date(),
    registryLabel: deps.registry.label,
    baseUrl: deps.baseUrl,
    schedule: deps.config.schedule,
    ...(next ? { nextScanAt: next } : {}),
    staleAfterHours: deps.config.scan.policyFor('').staleAfterHours,
    clusters: await deps.sightings.clusterReports(),
    plans,
  });
  return { statusCode: 200, headers: REVIEW_HEADERS, body };
}
