import { gunzipSync } from 'node:zlib';
import { BatchDeleteImageCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import type { Registry } from '../../lambdas/core/ports';
import { linkSignature, reviewUrl } from '../../lambdas/core/signed-link';
import { applyApproval } from '../../lambdas/handlers/delete';
import type { HttpApiEvent } from '../../lambdas/handlers/http-api';
import { handleApprove, handleReview, MAX_REVIEW_CANDIDATES } from '../../lambdas/handlers/review';
import { startScan } from '../../lambdas/handlers/scan';
import { digestOf, manyCandidates } from '../fixtures/builders';
import { type LocalDynamo, startDynalite } from '../fixtures/dynalite';
import { HOST, janitorWorld, LINK_SECRET } from '../fixtures/janitor-world';

const ecr = mockClient(ECRClient);
const now = { value: new Date('2026-11-22T06:00:00Z') };
let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(() => {
  ecr.reset();
  now.value = new Date('2026-11-22T06:00:00Z');
});

function get(link: URL, overrides: { id?: string; exp?: string; sig?: string } = {}): HttpApiEvent {
  const id = overrides.id ?? decodeURIComponent(link.pathname.split('/').at(-1)!);
  return {
    rawPath: `/v1/plans/${id}`,
    pathParameters: { id },
    queryStringParameters: {
      exp: overrides.exp ?? link.searchParams.get('exp')!,
      sig: overrides.sig ?? link.searchParams.get('sig')!,
    },
    requestContext: { http: { method: 'GET', sourceIp: '198.51.100.7', userAgent: 'test-browser' } },
  };
}

function post(link: URL, images: string[], overrides: { exp?: string; sig?: string } = {}): HttpApiEvent {
  const id = decodeURIComponent(link.pathname.split('/').at(-1)!);
  const form = new URLSearchParams();
  for (const image of images) form.append('image', image);
  form.set('exp', overrides.exp ?? link.searchParams.get('exp')!);
  form.set('sig', overrides.sig ?? link.searchParams.get('sig')!);
  return {
    rawPath: `/v1/plans/${id}/approve`,
    pathParameters: { id },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    requestContext: { http: { method: 'POST', sourceIp: '198.51.100.7', userAgent: 'test-browser' } },
  };
}

const key = (repository: string, tag: string) => `${repository}@${digestOf(`${repository}/${tag}`)}`;

async function pendingPlan(tags = ['a', 'b', 'c']) {
  const world = await janitorWorld(dynamo, ecr, now);
  world.seed('web', tags);
  const { planId, link } = await world.scan();
  if (!link) throw new Error('no review link in the digest');
  return { world, planId, link };
}

describe('GET /v1/plans/{id}', () => {
  it('shows every candidate with a checked checkbox and the security headers', async () => {
    const { world, link } = await pendingPlan();
    const result = await handleReview(get(link), world.reviewDeps);
    expect(result.statusCode).toBe(200);
    for (const tag of ['a', 'b', 'c']) expect(result.body).toContain(`value="${key('web', tag)}"`);
    expect(result.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(result.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(result.headers['x-frame-options']).toBe('DENY');
    expect(result.headers['referrer-policy']).toBe('no-referrer');
    expect(result.headers['cache-control']).toBe('no-store');
  });

  it.each([
    ['a tampered sig', { sig: 'AAAA' }, 403],
    ['a tampered exp', { exp: String(Math.floor(Date.now() / 1000) + 999_999) }, 403],
    ['another plan id', { id: 'scan-20991231T0000Z' }, 403],
  ])('answers 403 for %s', async (_name, overrides, status) => {
    const { world, link } = await pendingPlan();
    expect((await handleReview(get(link, overrides), world.reviewDeps)).statusCode).toBe(status);
  });

  it('answers 410 after the link expires and 404 for a well-signed unknown plan', async () => {
    const { world, link } = await pendingPlan();
    now.value = new Date(Number(link.searchParams.get('exp')) * 1000 + 1000);
    expect((await handleReview(get(link), world.reviewDeps)).statusCode).toBe(410);
    now.value = new Date('2026-11-22T06:00:00Z');
    const exp = String(Math.floor(now.value.getTime() / 1000) + 60);
    const sig = linkSignature(hmacSha256Hex, LINK_SECRET, 'no-such-plan', Number(exp));
    expect(
      (await handleReview(get(link, { id: 'no-such-plan', exp, sig }), world.reviewDeps)).statusCode,
    ).toBe(404);
  });

  it('changes nothing when an e-mail scanner fetches the link three times', async () => {
    const { world, planId, link } = await pendingPlan();
    for (let i = 0; i < 3; i++) await handleReview(get(link), world.reviewDeps);
    expect((await world.plans.getPlan(planId))?.status).toBe('PENDING');
    expect(world.tagsOf('web')).toEqual(['a', 'b', 'c']);
  });
});

/** Lambda's limit on an answer; the body is most of it. */
const LAMBDA_ANSWER_BYTES = 6 * 1024 * 1024;

/** A pending plan of `count` candidates in repository `big`, written straight to the store, and its link. */
async function bigPlan(world: Awaited<ReturnType<typeof janitorWorld>>, id: string, count: number) {
  const exp = Math.floor(now.value.getTime() / 1000) + 86_400;
  const candidates = manyCandidates(count, now.value);
  const candidateBytes = candidates.reduce((sum, item) => sum + item.sizeBytes, 0);
  await world.plans.createPlan({
    id,
    createdAt: now.value,
    totalRepositories: 1,
    linkExp: exp,
    policyHash: 'x',
  });
  const summary = {
    repository: 'big',
    totalImages: count,
    candidates: count,
    candidateBytes,
    topReasons: [],
    blockedBy: [],
  };
  await world.plans.putRepositoryPlan(id, summary, candidates);
  await world.plans.completeScan(id, { candidates: count, candidateBytes });
  const sig = linkSignature(hmacSha256Hex, LINK_SECRET, id, exp);
  return { candidates, link: new URL(reviewUrl('https://janitor.example.com', id, exp, sig)) };
}

describe('GET /v1/plans/{id} of a plan of 12,000 candidates', () => {
  let world: Awaited<ReturnType<typeof janitorWorld>>;
  let link: URL;

  beforeAll(async () => {
    world = await janitorWorld(dynamo, ecr, now);
    ({ link } = await bigPlan(world, 'scan-20261122T0600Z', 12_000));
  });

  const checkboxCount = (html: string) => html.split('type="checkbox" name="image"').length - 1;

  it('offers all of them gzipped to a browser, within a Lambda answer', async () => {
    const event = { ...get(link), headers: { 'accept-encoding': 'gzip, deflate, br' } };

    const result = await handleReview(event, world.reviewDeps);

    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(true);
    expect(result.headers['content-encoding']).toBe('gzip');
    expect(result.headers.vary).toBe('accept-encoding');
    expect(result.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(result.body.length).toBeLessThan(LAMBDA_ANSWER_BYTES);
    const html = gunzipSync(Buffer.from(result.body, 'base64')).toString('utf8');
    expect(checkboxCount(html)).toBe(12_000);
    expect(html).not.toContain('as many as one page and one approval can carry');
  });

  it('offers the first 10,000 as text to a client without gzip, and says the rest wait for the next scan', async () => {
    const result = await handleReview(get(link), world.reviewDeps);

    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBeUndefined();
    expect(Buffer.byteLength(result.body)).toBeLessThan(LAMBDA_ANSWER_BYTES);
    expect(checkboxCount(result.body)).toBe(MAX_REVIEW_CANDIDATES.plain);
    expect(result.body).toContain(
      'This page lists 10,000 candidates, as many as one page and one approval can carry: 2,000 more, in 1 repository, are not on it. They are not deleted now; the next scan proposes them again.',
    );
  });
});

describe('POST /v1/plans/{id}/approve of a plan larger than its page', () => {
  it('approves only what the page offered: a held-back candidate is ignored, and the outcomes page stays small', async () => {
    // Prepare: 12,000 candidates; a client without gzip is offered the first 10,000.
    const world = await janitorWorld(dynamo, ecr, now);
    const id = 'scan-20261122T1800Z';
    const { candidates, link } = await bigPlan(world, id, 12_000);
    const page = await handleReview(get(link), world.reviewDeps);
    expect(page.body).toContain('<input type="hidden" name="limit" value="10000">');
    const offered = `big@${candidates[0]!.digest}`;
    const heldBack = `big@${candidates[11_999]!.digest}`;
    const form = post(link, [offered, heldBack]);
    const body = new URLSearchParams(form.body);
    body.set('limit', '10000');

    // Act
    const result = await handleApprove({ ...form, body: body.toString() }, world.reviewDeps);
    await world.deletionsDone();

    // Assess
    expect(await world.plans.approval(id)).toMatchObject({ approved: [offered], ignored: [heldBack] });
    expect(result.statusCode).toBe(200);
    expect(Buffer.byteLength(result.body)).toBeLessThan(LAMBDA_ANSWER_BYTES);
    expect(result.body).toContain('2,000 more candidates are not listed on this page, which lists 10,000');
  });

  it('does not let a form raise its limit above what a page for this client offers', async () => {
    // Prepare: the same plan; a client without gzip sends limit=40000 and a held-back key.
    const world = await janitorWorld(dynamo, ecr, now);
    const id = 'scan-20261122T1900Z';
    const { candidates, link } = await bigPlan(world, id, 12_000);
    const offered = `big@${candidates[0]!.digest}`;
    const heldBack = `big@${candidates[11_999]!.digest}`;
    const form = post(link, [offered, heldBack]);
    const body = new URLSearchParams(form.body);
    body.set('limit', String(MAX_REVIEW_CANDIDATES.gzip));

    // Act
    await handleApprove({ ...form, body: body.toString() }, world.reviewDeps);
    await world.deletionsDone();

    // Assess
    expect(await world.plans.approval(id)).toMatchObject({ approved: [offered], ignored: [heldBack] });
  });
});

describe('POST /v1/plans/{id}/approve and the deleter', () => {
  it('deletes the checked images only, once, and shows the outcomes afterwards', async () => {
    // Prepare
    const { world, planId, link } = await pendingPlan();

    // Act
    const approved = await handleApprove(post(link, [key('web', 'a'), key('web', 'b')]), world.reviewDeps);
    await world.deletionsDone();
    const again = await handleApprove(post(link, [key('web', 'c')]), world.reviewDeps);
    const later = await handleReview(get(link), world.reviewDeps);

    // Assess
    expect(approved.statusCode).toBe(200);
    expect(again.statusCode).toBe(409);
    expect(world.tagsOf('web')).toEqual(['c']);
    expect((await world.plans.getPlan(planId))?.status).toBe('APPLIED');
    expect(later.statusCode).toBe(200);
    expect(later.body).not.toContain('type="checkbox"');
    expect(later.body).toContain('deleted');
    const approval = await world.plans.approval(planId);
    expect(approval).toMatchObject({ sourceIp: '198.51.100.7', userAgent: 'test-browser' });
  });

  it("answers the approval with each image's outcome once its deletion is done, or what is done when it takes long", async () => {
    // Prepare
    const { world, link } = await pendingPlan();
    const other = await pendingPlan();
    const waiting = { ...world.reviewDeps, outcomeWaitMs: 5_000 };
    const neverDone = { ...other.world.reviewDeps, startDeletion: async () => undefined, outcomeWaitMs: 600 };

    // Act
    const approved = await handleApprove(post(link, [key('web', 'a'), key('web', 'b')]), waiting);
    const started = Date.now();
    const slow = await handleApprove(post(other.link, [key('web', 'a')]), neverDone);
    const slowMs = Date.now() - started;

    // Assess
    expect(approved.statusCode).toBe(200);
    expect(approved.body.match(/class="outcome deleted"/g)).toHaveLength(2);
    expect(approved.body).not.toContain('class="outcome pending"');
    expect(slow.statusCode).toBe(200);
    expect(slow.body).toContain('class="outcome pending"');
    expect(slowMs).toBeGreaterThanOrEqual(300);
  });

  it('reads what ECS and Lambda run once for an approval of several repositories, and keeps what they run', async () => {
    // Prepare
    const world = await janitorWorld(dynamo, ecr, now);
    for (const repository of ['api', 'web', 'worker']) world.seed(repository, ['a', 'b']);
    const { planId, link } = await world.scan();
    if (!link) throw new Error('no review link in the digest');
    const approving = { ...world.reviewDeps, startDeletion: async () => undefined };
    const all = ['api', 'web', 'worker'].flatMap((repository) => [
      key(repository, 'a'),
      key(repository, 'b'),
    ]);
    expect((await handleApprove(post(link, all), approving)).statusCode).toBe(200);
    let readings = 0;
    const usage = async (at: Date) => {
      readings += 1;
      // Since the scan, a Lambda function runs worker:b.
      return [
        {
          cluster: 'aws:lambda',
          ref: { registry: HOST, repository: 'worker', tag: 'b' },
          observedAt: at,
          workload: 'Lambda function jobs version 3',
        },
      ];
    };

    // Act
    await applyApproval(planId, { ...world.deleteDeps, usage });

    // Assess
    expect(readings).toBe(1);
    expect(world.tagsOf('api')).toEqual([]);
    expect(world.tagsOf('worker')).toEqual(['b']);
    const outcomes = await world.plans.outcomes(planId);
    expect(outcomes.get(key('worker', 'b'))).toMatchObject({ status: 'skipped' });
  });

  it('deletes nothing in a repository whose re-check cannot list it, and says why', async () => {
    // Prepare
    const { world, planId, link } = await pendingPlan();
    const approving = { ...world.reviewDeps, startDeletion: async () => undefined };
    expect((await handleApprove(post(link, [key('web', 'a')]), approving)).statusCode).toBe(200);
    ecr
      .on(DescribeImagesCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    // Act
    await applyApproval(planId, world.deleteDeps);

    // Assess
    expect((await world.plans.outcomes(planId)).get(key('web', 'a'))).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('could not re-check'),
    });
    expect(world.tagsOf('web')).toEqual(['a', 'b', 'c']);
  });

  it('deletes nothing in a repository whose cluster went silent between the scan and the approval', async () => {
    // Prepare: edge reports web:x, the scan proposes web:a; 7 hours later edge has sent only part
    // of a report (the stale limit is 6 hours).
    const clock = { value: now.value };
    const world = await janitorWorld(dynamo, ecr, clock);
    world.seed('web', ['a', 'x']);
    const x = { registry: HOST, repository: 'web', tag: 'x' };
    const report = (round?: { key: string; part: number; parts: number }) =>
      world.sightings.recordReport({
        cluster: 'edge',
        observedAt: clock.value,
        sightings: [{ cluster: 'edge', observedAt: clock.value, ref: x }],
        ...(round ? { round } : {}),
      });
    await report();
    const { planId, link } = await world.scan();
    if (!link) throw new Error('no review link in the digest');
    clock.value = new Date(clock.value.getTime() + 7 * 3_600_000);
    await report({ key: clock.value.toISOString(), part: 1, parts: 2 });
    const approving = { ...world.reviewDeps, startDeletion: async () => undefined };
    expect((await handleApprove(post(link, [key('web', 'a')]), approving)).statusCode).toBe(200);

    // Act
    await applyApproval(planId, world.deleteDeps);

    // Assess
    expect((await world.plans.outcomes(planId)).get(key('web', 'a'))).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('deletions blocked, no recent report from edge'),
    });
    expect(world.tagsOf('web')).toEqual(['a', 'x']);
  });

  it('takes the approval back when the deletion cannot be started, so that the form can be sent again', async () => {
    // Prepare: invoking the deleter fails once (throttled, or the network).
    const { world, planId, link } = await pendingPlan();
    let refusals = 1;
    const flaky = {
      ...world.reviewDeps,
      startDeletion: async (id: string) => {
        if (refusals-- > 0) throw new Error('Lambda Invoke: TooManyRequestsException (rate exceeded)');
        await world.reviewDeps.startDeletion(id);
      },
    };

    // Act
    const refused = await handleApprove(post(link, [key('web', 'a')]), flaky);
    const pending = await world.plans.getPlan(planId);
    const again = await handleApprove(post(link, [key('web', 'a')]), flaky);
    await world.deletionsDone();

    // Assess: the first answer says nothing happened; the form sent again deletes.
    expect(refused.statusCode).toBe(503);
    expect(refused.body).toContain('so the approval was taken back');
    expect(pending?.status).toBe('PENDING');
    expect(again.statusCode).toBe(200);
    expect(world.tagsOf('web')).toEqual(['b', 'c']);
    expect((await world.plans.getPlan(planId))?.status).toBe('APPLIED');
  });

  it('has the next scan start a deletion whose start was lost, seven hours after the approval', async () => {
    // Prepare: the approval is recorded, then the review function stops before starting the deleter.
    const { world, planId, link } = await pendingPlan();
    const lost = { ...world.reviewDeps, startDeletion: async () => undefined };
    await handleApprove(post(link, [key('web', 'a')]), lost);
    const resumed: string[] = [];
    const scanDeps = {
      ...world.scanDeps,
      resumeDeletion: async (id: string) => {
        resumed.push(id);
        await world.reviewDeps.startDeletion(id);
      },
    };

    // Act: a scan within the seven hours, then one after them.
    now.value = new Date(now.value.getTime() + 6 * 60 * 60_000);
    await startScan({ scheduledAt: now.value }, scanDeps);
    const early = [...resumed];
    now.value = new Date(now.value.getTime() + 2 * 60 * 60_000);
    await startScan({ scheduledAt: now.value }, scanDeps);
    await world.deletionsDone();

    // Assess
    expect(early).toEqual([]);
    expect(resumed).toEqual([planId]);
    expect(world.tagsOf('web')).toEqual(['b', 'c']);
    expect((await world.plans.getPlan(planId))?.status).toBe('APPLIED');
  });

  it('ignores images that are not candidates of the plan and lists them', async () => {
    const { world, planId, link } = await pendingPlan();
    await handleApprove(post(link, [key('web', 'a'), 'web@sha256:ffff', 'other@x']), world.reviewDeps);
    await world.deletionsDone();
    expect((await world.plans.approval(planId))?.ignored).toEqual(['web@sha256:ffff', 'other@x']);
    expect(world.tagsOf('web')).toEqual(['b', 'c']);
  });

  it('counts every ignored key on the outcomes page, though it lists the first 1,000', async () => {
    const { world, link } = await pendingPlan();
    const strangers = Array.from({ length: 1500 }, (_, i) => `other@sha256:${String(i).padStart(64, '0')}`);
    await handleApprove(post(link, [key('web', 'a'), ...strangers]), world.reviewDeps);
    await world.deletionsDone();

    const page = await handleReview(get(link), world.reviewDeps);

    expect(page.body).toContain('ignored: 1,500</h2>');
    expect(page.body).toContain('… and 500 more');
  });

  it('refuses a forged or expired approval and an unknown content type, approving nothing', async () => {
    const { world, planId, link } = await pendingPlan();
    expect(
      (await handleApprove(post(link, [key('web', 'a')], { sig: 'x' }), world.reviewDeps)).statusCode,
    ).toBe(403);
    const plain = { ...post(link, [key('web', 'a')]), headers: { 'content-type': 'text/plain' } };
    expect((await handleApprove(plain, world.reviewDeps)).statusCode).toBe(415);
    now.value = new Date(Number(link.searchParams.get('exp')) * 1000 + 1000);
    expect((await handleApprove(post(link, [key('web', 'a')]), world.reviewDeps)).statusCode).toBe(410);
    expect((await world.plans.getPlan(planId))?.status).toBe('PENDING');
  });

  it('skips an image sighted between the scan and the approval, and one that got a new tag', async () => {
    // Prepare
    const { world, planId, link } = await pendingPlan();
    now.value = new Date(now.value.getTime() + 3_600_000);
    await world.sightings.recordReport({
      cluster: 'prod',
      observedAt: now.value,
      sightings: [
        { cluster: 'prod', observedAt: now.value, ref: { registry: HOST, repository: 'web', tag: 'a' } },
      ],
    });
    const b = world.repositories.get('web')!.find((image) => image.imageTags?.includes('b'))!;
    b.imageTags = ['b', 'release-1'];

    // Act
    await handleApprove(post(link, [key('web', 'a'), key('web', 'b'), key('web', 'c')]), world.reviewDeps);
    await world.deletionsDone();

    // Assess
    const outcomes = await world.plans.outcomes(planId);
    expect(outcomes.get(key('web', 'a'))).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('became protected'),
    });
    expect(outcomes.get(key('web', 'b'))).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('tags changed'),
    });
    expect(outcomes.get(key('web', 'c'))).toEqual({ status: 'deleted' });
    expect(world.tagsOf('web')).toEqual(['a', 'b', 'release-1']);
  });

  it('records a per-image ECR failure and deletes the rest', async () => {
    const { world, planId, link } = await pendingPlan();
    world.failDeletes.set(digestOf('web/b'), 'ImageTagDoesNotMatchDigest');
    await handleApprove(post(link, [key('web', 'a'), key('web', 'b')]), world.reviewDeps);
    await world.deletionsDone();
    const outcomes = await world.plans.outcomes(planId);
    expect(outcomes.get(key('web', 'b'))).toEqual({
      status: 'failed',
      error: 'ImageTagDoesNotMatchDigest: refused: ImageTagDoesNotMatchDigest',
    });
    expect(outcomes.get(key('web', 'a'))).toEqual({ status: 'deleted' });
  });

  it('leaves a plan APPROVED, and says so, when an approved image got no outcome', async () => {
    // Prepare: an approval naming an image that is no candidate (the review handler never writes one).
    const { world, planId } = await pendingPlan();
    const ghost = `web@${digestOf('web/ghost')}`;
    await world.plans.approve(planId, {
      approvedAt: now.value,
      approved: [key('web', 'a'), ghost],
      ignored: [],
    });
    const errors: unknown[] = [];
    const log = {
      ...world.deleteDeps.log,
      error: (message: string, extra?: Record<string, unknown>) => errors.push({ message, ...extra }),
    };

    // Act
    await applyApproval(planId, { ...world.deleteDeps, log });

    // Assess
    expect(world.tagsOf('web')).toEqual(['b', 'c']);
    expect((await world.plans.getPlan(planId))?.status).toBe('APPROVED');
    expect(errors).toEqual([
      {
        message: 'approved images without an outcome; the plan stays APPROVED',
        planId,
        missing: 1,
        first: ghost,
      },
    ]);
  });

  it('on a registry that lists only what tags reach, lists with the digests sighted so far and decides on sightings read after', async () => {
    // Prepare: a by-digest sighting before the deletion, a tag sighting of b made while it lists.
    const { world, planId } = await pendingPlan();
    await world.plans.approve(planId, {
      approvedAt: now.value,
      approved: [key('web', 'a'), key('web', 'b')],
      ignored: [],
    });
    const untaggedIndex = digestOf('web/untagged-index');
    const report = (ref: Record<string, string>) =>
      world.sightings.recordReport({
        cluster: 'prod',
        observedAt: now.value,
        sightings: [
          { cluster: 'prod', observedAt: now.value, ref: { registry: HOST, repository: 'web', ...ref } },
        ],
      });
    await report({ digest: untaggedIndex });
    const inner = world.deleteDeps.registry;
    const asked: (readonly string[] | undefined)[] = [];
    const tagsOnly: Registry = {
      label: inner.label,
      listsEveryManifest: false,
      hosts: () => inner.hosts(),
      listRepositories: (withTag) => inner.listRepositories(withTag),
      async listImages(repository, onProgress, sightedDigests) {
        asked.push(sightedDigests);
        await report({ tag: 'b' });
        return inner.listImages(repository, onProgress);
      },
      deleteImages: (repository, digests) => inner.deleteImages(repository, digests),
    };

    // Act
    await applyApproval(planId, { ...world.deleteDeps, registry: tagsOnly });

    // Assess
    // The approved digests are read by digest too (see the next test).
    expect(asked).toEqual([[untaggedIndex, digestOf('web/a'), digestOf('web/b')]]);
    expect(world.tagsOf('web')).toEqual(['b', 'c']);
    const outcomes = await world.plans.outcomes(planId);
    expect(outcomes.get(key('web', 'a'))).toEqual({ status: 'deleted' });
    expect(outcomes.get(key('web', 'b'))).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/tag 'b' seen in prod/),
    });
  });

  it('on a registry that lists only what tags reach, does not take an image untagged since the scan for deleted', async () => {
    // Prepare: a is approved, then loses its tag; a registry that lists what tags reach, and
    // what it is asked for by digest.
    const { world, planId } = await pendingPlan();
    await world.plans.approve(planId, { approvedAt: now.value, approved: [key('web', 'a')], ignored: [] });
    const a = world.repositories.get('web')!.find((image) => image.imageDigest === digestOf('web/a'))!;
    a.imageTags = [];
    const inner = world.deleteDeps.registry;
    const tagsOnly: Registry = {
      label: inner.label,
      listsEveryManifest: false,
      hosts: () => inner.hosts(),
      listRepositories: (withTag) => inner.listRepositories(withTag),
      async listImages(repository, onProgress, byDigest = []) {
        const images = await inner.listImages(repository, onProgress);
        return images.filter((image) => image.tags.length > 0 || byDigest.includes(image.digest));
      },
      deleteImages: (repository, digests) => inner.deleteImages(repository, digests),
    };

    // Act
    await applyApproval(planId, { ...world.deleteDeps, registry: tagsOnly });

    // Assess
    expect((await world.plans.outcomes(planId)).get(key('web', 'a'))).toEqual({
      status: 'skipped',
      reason: 'tags changed since the scan: [a] → []',
    });
    expect(world.repositories.get('web')!.map((image) => image.imageDigest)).toContain(digestOf('web/a'));
  });

  it('does nothing more when the deleter event is delivered again', async () => {
    const { world, planId, link } = await pendingPlan();
    await handleApprove(post(link, [key('web', 'a')]), world.reviewDeps);
    await world.deletionsDone();
    const deletesBefore = ecr.commandCalls(BatchDeleteImageCommand).length;
    await applyApproval(planId, world.deleteDeps);
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(deletesBefore);
    expect((await world.plans.outcomes(planId)).size).toBe(1);
  });
});
