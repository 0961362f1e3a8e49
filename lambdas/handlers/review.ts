import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { hmacSha256Hex } from '../adapters/crypto';
import { DynamoPlanStore } from '../adapters/dynamo-plan-store';
import { powertoolsLog } from '../adapters/log';
import { SecretsManagerSecrets } from '../adapters/secrets';
import {
  offeredCandidates,
  REVIEW_SCRIPT,
  REVIEW_STYLE,
  renderMessagePage,
  renderReviewPage,
} from '../core/review-page';
import { type Approval, imageKey, type ReviewView } from '../core/review-view';
import type { Hmac } from '../core/signature';
import { checkLink } from '../core/signed-link';
import type { PlanRecord, PlanStore } from '../core/stores';
import {
  acceptsGzip,
  gzippedFor,
  type HttpApiEvent,
  type HttpApiResult,
  header,
  type Log,
  rawBody,
} from './http-api';

export interface ReviewDeps {
  readonly plans: PlanStore;
  readonly linkSecret: () => Promise<string>;
  readonly hmac: Hmac;
  /** Starts the deleter for a plan without waiting for it (async Lambda invoke; in process in `serve`). */
  readonly startDeletion: (planId: string) => Promise<void>;
  /**
   * How long an approval waits for its deletion to finish before it answers, so that its page
   * shows each image's outcome rather than `pending` (a longer deletion shows what is done so
   * far; a GET of the link shows the rest). Measured on the real clock. @default 0
   */
  readonly outcomeWaitMs?: number;
  readonly now: () => Date;
  readonly log: Log;
}

/** How often an approval waiting for its deletion reads the plan again. */
const OUTCOME_POLL_MS = 250;

/**
 * The plan once its deletion has finished (`APPLIED`), or as it stands after `waitMs`: a deletion
 * of a few hundred images finishes within seconds.
 */
async function settledPlan(
  planId: string,
  waitMs: number,
  plans: PlanStore,
): Promise<PlanRecord | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const plan = await plans.getPlan(planId);
    if (plan?.status !== 'APPROVED' || Date.now() + OUTCOME_POLL_MS > deadline) return plan;
    await new Promise((resolve) => setTimeout(resolve, OUTCOME_POLL_MS));
  }
}

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Strict: nothing from anywhere but the two inline blocks the page ships, forms only to itself. */
export const REVIEW_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `style-src ${hash(REVIEW_STYLE)}`,
    `script-src ${hash(REVIEW_SCRIPT)}`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

const page = (statusCode: number, body: string): HttpApiResult => ({
  statusCode,
  headers: REVIEW_HEADERS,
  body,
});

/**
 * The most candidates one review page offers (see `ReviewView.maxCandidates`): about 430 bytes of
 * HTML each, so ~10,000 fit in Lambda's 6 MB answer as text and 40,000 gzipped (~2.3 MB, ~3 MB
 * in base64). The form they post is bounded on its own (`MAX_APPROVAL_FORM_BYTES`: long
 * repository names make each checkbox longer), so that it stays under the 6 MB request limit.
 */
export const MAX_REVIEW_CANDIDATES = { gzip: 40_000, plain: 10_000 } as const;

const reviewLimit = (event: HttpApiEvent) =>
  acceptsGzip(event) ? MAX_REVIEW_CANDIDATES.gzip : MAX_REVIEW_CANDIDATES.plain;

/**
 * The limit of the page an approval comes from: its form's `limit` (a text page posted by a client
 * that accepts gzip), but never more than a page fetched by this client would offer: the field is
 * not signed, and raising it must not reach candidates no page showed this client.
 */
function pageLimit(form: URLSearchParams, event: HttpApiEvent): number {
  const sent = Number(form.get('limit'));
  const most = reviewLimit(event);
  return Number.isInteger(sent) && sent > 0 ? Math.min(sent, most) : most;
}
const message = (statusCode: number, title: string, text: string) =>
  page(statusCode, renderMessagePage(title, text));

/**
 * `GET /v1/plans/{id}?exp&sig`: the review page. Never changes state (mail scanners fetch links
 * and run scripts). 403 for a bad signature, 410 after `exp`, 404 for an unknown plan.
 */
export async function handleReview(event: HttpApiEvent, deps: ReviewDeps): Promise<HttpApiResult> {
  const planId = event.pathParameters?.id ?? '';
  const query = event.queryStringParameters ?? {};
  const refused = await refuseLink(planId, query.exp, query.sig, deps);
  if (refused && refused.statusCode !== 410) return refused;
  const plan = await deps.plans.getPlan(planId);
  if (!plan)
    return (
      refused ?? message(404, 'Plan not found', 'This plan does not exist (plans are kept for 30 days).')
    );
  const decided = plan.status === 'APPROVED' || plan.status === 'APPLIED';
  if (refused && !decided) return refused;
  // An expired link of an approved plan still shows what happened, with 410.
  const view = await viewOf(
    plan,
    query.exp!,
    query.sig!,
    approvePath(event, planId),
    reviewLimit(event),
    deps,
  );
  return gzippedFor(event, page(refused ? 410 : 200, renderReviewPage(view)));
}

/**
 * `POST /v1/plans/{id}/approve` (form-encoded `image`, `exp`, `sig`): approves the checked
 * candidates of this plan — once (409 afterwards) — and starts their deletion. What the form sent
 * that is not a candidate of this plan is ignored and listed as such.
 */
export async function handleApprove(event: HttpApiEvent, deps: ReviewDeps): Promise<HttpApiResult> {
  const planId = event.pathParameters?.id ?? '';
  const contentType = header(event, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    return message(415, 'Unsupported form', 'The approval must be sent by the review page’s form.');
  }
  const form = new URLSearchParams(rawBody(event).text);
  const exp = form.get('exp') ?? undefined;
  const sig = form.get('sig') ?? undefined;
  const refused = await refuseLink(planId, exp, sig, deps);
  if (refused) return refused;
  const plan = await deps.plans.getPlan(planId);
  if (!plan) return message(404, 'Plan not found', 'This plan does not exist (plans are kept for 30 days).');
  if (plan.status !== 'PENDING') return alreadyDecided(plan);
  // What the page offered (the same limit, sent back by its form): nothing it held back, and
  // nothing of a blocked repository, can be approved.
  const shown = await viewOf(plan, exp!, sig!, approvePath(event, planId), pageLimit(form, event), deps);
  const offered = new Set<string>();
  for (const repo of offeredCandidates(shown).offered)
    for (const item of repo.candidates) offered.add(imageKey(item));
  const asked = [...new Set(form.getAll('image'))];
  const approval: Approval = {
    approvedAt: deps.now(),
    ...optional('sourceIp', event.requestContext?.http?.sourceIp),
    ...optional('userAgent', event.requestContext?.http?.userAgent ?? header(event, 'user-agent')),
    approved: asked.filter((key) => offered.has(key)),
    ignored: asked.filter((key) => !offered.has(key)),
  };
  if (!(await deps.plans.approve(planId, approval)))
    return alreadyDecided((await deps.plans.getPlan(planId)) ?? plan);
  deps.log.info('plan approved', {
    planId,
    approved: approval.approved.length,
    ignored: approval.ignored.length,
    sourceIp: approval.sourceIp,
  });
  try {
    await deps.startDeletion(planId);
  } catch (error) {
    // Nothing would ever start it: take the approval back, so that the form can be sent again.
    const reason = error instanceof Error ? error.message : String(error);
    const withdrawn = await deps.plans.withdrawApproval(planId, approval.approvedAt);
    deps.log.error('deletion could not start', { planId, withdrawn, error: reason });
    return message(
      503,
      'Deletion could not start',
      withdrawn
        ? 'The deletion could not be started, so the approval was taken back. Go back and send the form again in a minute; any image deleted meanwhile will show as deleted.'
        : 'The deletion could not be started, and the plan has changed since. Open its link again to see where it stands.',
    );
  }
  const approved = (await settledPlan(planId, deps.outcomeWaitMs ?? 0, deps.plans)) ?? plan;
  const view = await viewOf(approved, exp!, sig!, approvePath(event, planId), reviewLimit(event), deps);
  return gzippedFor(event, page(200, renderReviewPage(view)));
}

async function refuseLink(
  planId: string,
  exp: string | undefined,
  sig: string | undefined,
  deps: ReviewDeps,
) {
  const check = checkLink({
    hmac: deps.hmac,
    linkSecret: await deps.linkSecret(),
    planId,
    exp,
    sig,
    now: deps.now(),
  });
  if (check === 'forged')
    return message(
      403,
      'Invalid link',
      'This link is not valid. Open the link from the latest digest e-mail.',
    );
  if (check === 'expired') {
    return message(410, 'Link expired', 'This review link has expired. The next scan sends a new one.');
  }
  return undefined;
}

function alreadyDecided(plan: PlanRecord): HttpApiResult {
  const what =
    plan.status === 'APPROVED' || plan.status === 'APPLIED'
      ? 'was already approved'
      : 'cannot be approved now';
  return message(
    409,
    'Already decided',
    `This plan ${what} (${plan.status.toLowerCase()}). Open its link again to see the outcomes.`,
  );
}

async function viewOf(
  plan: PlanRecord,
  exp: string,
  sig: string,
  path: string,
  maxCandidates: number,
  deps: ReviewDeps,
): Promise<ReviewView> {
  const repositories = [];
  for (const summary of await deps.plans.summaries(plan.id)) {
    const candidates = [];
    let cursor: string | undefined;
    do {
      const pageOf = await deps.plans.candidates(plan.id, summary.repository, cursor);
      candidates.push(...pageOf.items);
      cursor = pageOf.next;
    } while (cursor);
    repositories.push({ summary, candidates });
  }
  repositories.sort((a, b) => a.summary.repository.localeCompare(b.summary.repository));
  const decided = plan.status === 'APPROVED' || plan.status === 'APPLIED';
  const approval = decided ? await deps.plans.approval(plan.id) : undefined;
  const outcomes = decided ? await deps.plans.outcomes(plan.id) : undefined;
  return {
    planId: plan.id,
    createdAt: plan.createdAt,
    status: plan.status,
    exp,
    sig,
    linkExpiresAt: new Date(plan.linkExp * 1000),
    approvePath: path,
    repositories,
    ...(outcomes ? { outcomes } : {}),
    ...(approval ? { approval } : {}),
    ...(plan.error === undefined ? {} : { error: plan.error }),
    maxCandidates,
    now: deps.now(),
  };
}

/** The form's target: this request's path (which keeps any stage prefix) + `/approve`. */
function approvePath(event: HttpApiEvent, planId: string): string {
  const path = event.rawPath ?? `/v1/plans/${encodeURIComponent(planId)}`;
  return path.endsWith('/approve') ? path : `${path.replace(/\/+$/, '')}/approve`;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

let lambdaDeps: ReviewDeps | undefined;

/** The deployed function's deps, built once per container from its environment. */
function depsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ReviewDeps {
  const { TABLE_NAME: tableName, LINK_SECRET_ARN: secretArn, DELETER_FUNCTION_NAME: deleter } = env;
  if (!tableName || !secretArn || !deleter)
    throw new Error('TABLE_NAME, LINK_SECRET_ARN and DELETER_FUNCTION_NAME must be set');
  const secrets = new SecretsManagerSecrets();
  const lambda = new LambdaClient({});
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    plans: new DynamoPlanStore({ client: documents, tableName }),
    linkSecret: () => secrets.get(secretArn),
    hmac: hmacSha256Hex,
    startDeletion: async (planId) => {
      await lambda.send(
        new InvokeCommand({
          FunctionName: deleter,
          InvocationType: 'Event',
          Payload: JSON.stringify({ planId }),
        }),
      );
    },
    // Well within the function's 25 s, with the page to render after.
    outcomeWaitMs: 8_000,
    now: () => new Date(),
    log: powertoolsLog('registry-janitor-review'),
  };
}

/** The Lambda entry point for both review routes (API Gateway HTTP API, payload format 2.0). */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  lambdaDeps ??= depsFromEnvironment();
  try {
    const method = event.requestContext?.http?.method ?? 'GET';
    return method === 'POST' ? await handleApprove(event, lambdaDeps) : await handleReview(event, lambdaDeps);
  } catch (error) {
    lambdaDeps.log.error('review failed', { error: error instanceof Error ? error.message : String(error) });
    return message(500, 'Something went wrong', 'The page could not be built. Try again in a minute.');
  }
}
