import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ECRServiceException,
} from '@aws-sdk/client-ecr';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { DynamoPlanStore } from '../../lambdas/adapters/dynamo-plan-store';
import { DynamoSightingStore } from '../../lambdas/adapters/dynamo-sighting-store';
import { EcrRegistry } from '../../lambdas/adapters/ecr-registry';
import type { RenderedDigest } from '../../lambdas/core/digest';
import type { PlanItem } from '../../lambdas/core/plan';
import type { ImageOutcome } from '../../lambdas/core/review-view';
import { parseScanConfig } from '../../lambdas/core/scan-config';
import { checkLink } from '../../lambdas/core/signed-link';
import { planIdFor, type ScanDeps, scanRepository, startScan } from '../../lambdas/handlers/scan';
import { digestOf, manyCandidates } from '../fixtures/builders';
import { type LocalDynamo, startDynalite } from '../fixtures/dynalite';
import { describePage, imageDetail, REGISTRY_ID } from '../fixtures/ecr-responses';
import { inProcessScan } from '../fixtures/janitor-world';

const ecr = mockClient(ECRClient);
const NOW = new Date('2026-11-22T06:00:30Z');
const SCHEDULED = new Date('2026-11-22T06:00:00Z');
const HOST = `${REGISTRY_ID}.dkr.ecr.eu-west-1.amazonaws.com`;
const LINK_SECRET = 'link-secret';
const DAY = 86_400_000;

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(() => ecr.reset());

/** ECR with repositories of old tagged and untagged images; `web-<i>` tags are `build-<i>`. */
function seedEcr(repositories: Record<string, number>) {
  ecr.on(DescribeRepositoriesCommand).resolves({
    repositories: Object.keys(repositories).map((repositoryName) => ({
      repositoryName,
      registryId: REGISTRY_ID,
    })),
  });
  for (const [repository, count] of Object.entries(repositories)) {
    const details = Array.from({ length: count }, (_, i) =>
      imageDetail(digestOf(`${repository}-${i}`), {
        repositoryName: repository,
        imageTags: i % 2 === 0 ? [`build-${i}`] : [],
        imagePushedAt: new Date(NOW.getTime() - (30 + i) * DAY),
        imageSizeInBytes: 1_000_000,
      }),
    );
    ecr.on(DescribeImagesCommand, { repositoryName: repository }).resolves(describePage(details));
  }
}

async function newDeps(config = parseScanConfig({})) {
  const tableName = await dynamo.newTable();
  const digests: RenderedDigest[] = [];
  const plans = new DynamoPlanStore({ client: dynamo.documents, tableName });
  const sightings = new DynamoSightingStore({ client: dynamo.documents, tableName });
  const { deps, queue } = inProcessScan({
    registry: new EcrRegistry({ client: new ECRClient({ region: 'eu-west-1' }), region: 'eu-west-1' }),
    sightings,
    plans,
    config,
    digests,
    linkSecret: LINK_SECRET,
    reviewBaseUrl: 'https://api.example.com',
    now: () => NOW,
  });
  return { deps, queue, plans, sightings, digests, tableName };
}

describe('the scheduled scan', () => {
  it('warns of configured globs that match no repository: a typo would scan nothing, without a word', async () => {
    seedEcr({ web: 2, 'team-a/api': 2 });
    const { deps, queue } = await newDeps(parseScanConfig({ repositories: ['tema-a/*'] }));
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const log = {
      ...deps.log,
      warn: (message: string, extra?: Record<string, unknown>) => warnings.push([message, extra]),
    };

    const started = await startScan({ scheduledAt: SCHEDULED }, { ...deps, log });
    await queue.drained();

    expect(started.repositories).toBe(0);
    expect(warnings).toEqual([
      [
        'configured repository globs match no repository (a typo?)',
        { planId: started.planId, globs: ['tema-a/*'], listed: 2, managed: 0 },
      ],
    ]);
  });

  it('sends a digest that could not be sent: on the same event again, or from a later scan', async () => {
    // Prepare: publishing fails until the outbox is "emptied".
    seedEcr({ web: 2 });
    const { deps, queue, plans, digests } = await newDeps(parseScanConfig({ notifyWhenClean: true }));
    let full = true;
    const store = digests.push.bind(digests);
    digests.push = (...sent: RenderedDigest[]) => {
      if (full) throw new Error('ENOSPC: outbox full');
      return store(...sent);
    };
    const failing = { ...deps, log: { ...deps.log, error: () => undefined, warn: () => undefined } };

    // Act: the scan's worker fails to send its digest every attempt.
    const first = await startScan({ scheduledAt: SCHEDULED }, failing);
    await queue.drained();
    expect(await plans.getPlan(first.planId)).toMatchObject({ status: 'PENDING' });
    expect((await plans.getPlan(first.planId))?.digestSentAt).toBeUndefined();
    full = false;
    // The same event again sends it.
    await startScan({ scheduledAt: SCHEDULED }, failing);

    // Assess
    expect(digests.map((digest) => digest.subject)).toHaveLength(1);
    expect((await plans.getPlan(first.planId))?.digestSentAt).toBeDefined();

    // And a plan whose digest was lost is sent by a later scan, once its own worker had its time.
    full = true;
    const later = new Date(SCHEDULED.getTime() + 3_600_000);
    const lostAt = { ...failing, now: () => later };
    const lost = await startScan({ scheduledAt: later }, lostAt);
    await queue.drained();
    full = false;
    const next = new Date(later.getTime() + 3_600_000);
    await startScan({ scheduledAt: next }, { ...failing, now: () => next });
    await queue.drained();
    expect((await plans.getPlan(lost.planId))?.digestSentAt).toBeDefined();
    expect(digests).toHaveLength(3);
  });

  it("keeps a plan's items until its link has been expired two days, when that is past the 30 days", async () => {
    const { plans, tableName } = await newDeps();
    const linkExp = Math.floor(NOW.getTime() / 1000) + 30 * 86_400;
    await plans.createPlan({ id: 'p-long', createdAt: NOW, linkExp, policyHash: 't', totalRepositories: 0 });
    await plans.createPlan({
      id: 'p-short',
      createdAt: NOW,
      linkExp: linkExp - 20 * 86_400,
      policyHash: 't',
      totalRepositories: 0,
    });
    const expiry = async (id: string) => {
      const answer = await dynamo.documents.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `PLAN#${id}` },
        }),
      );
      return answer.Items?.map((item) => item.expiresAt);
    };
    expect(await expiry('p-long')).toEqual([linkExp + 2 * 86_400]);
    // Its entry in the list of plans too: the scans find plans to resume through it.
    const listed = await dynamo.documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'PLANS' },
      }),
    );
    expect(Object.fromEntries((listed.Items ?? []).map((item) => [item.planId, item.expiresAt]))).toEqual({
      'p-long': linkExp + 2 * 86_400,
      'p-short': Math.floor(NOW.getTime() / 1000) + 30 * 86_400,
    });
    expect(await expiry('p-short')).toEqual([Math.floor(NOW.getTime() / 1000) + 30 * 86_400]);
  });

  it('does not store a repository planned after its plan was assembled', async () => {
    // Prepare: a SCANNING plan; the repository's listing waits until the plan is assembled.
    seedEcr({ web: 2 });
    const { deps, plans } = await newDeps();
    await plans.createPlan({
      id: 'p-race',
      createdAt: NOW,
      linkExp: 1_900_000_000,
      policyHash: 't',
      totalRepositories: 2,
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const registry = {
      ...deps.registry,
      hosts: () => deps.registry.hosts(),
      listRepositories: (tag?: { key: string; value: string }) => deps.registry.listRepositories(tag),
      deleteImages: (repository: string, digests: readonly string[]) =>
        deps.registry.deleteImages(repository, digests),
      listImages: async (...args: Parameters<typeof deps.registry.listImages>) => {
        await gate;
        return deps.registry.listImages(...args);
      },
    };

    // Act
    const planning = scanRepository({ planId: 'p-race', repository: 'web' }, { ...deps, registry });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await plans.completeScan('p-race', { candidates: 0, candidateBytes: 0 })).toBe(true);
    release();
    await planning;

    // Assess
    expect(await plans.summaries('p-race')).toEqual([]);
  });

  it('fans out per repository, writes one plan and sends one digest whose link opens it', async () => {
    // Prepare
    seedEcr({ web: 6, api: 4 });
    const { deps, queue, plans, digests } = await newDeps();

    // Act
    const started = await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();

    // Assess
    expect(started).toMatchObject({ planId: 'scan-20261122T0600Z', started: true, repositories: 2 });
    const plan = await plans.getPlan(started.planId);
    expect(plan).toMatchObject({
      status: 'PENDING',
      totalRepositories: 2,
      candidates: 10,
      candidateBytes: 10_000_000,
    });
    expect(
      (await plans.summaries(started.planId)).map((summary) => [summary.repository, summary.candidates]),
    ).toEqual([
      ['api', 4],
      ['web', 6],
    ]);
    expect(digests).toHaveLength(1);
    expect(digests[0]?.subject).toBe('registry-janitor: 10 images, 9.5 MiB to review');
    const link = new URL(/Review and approve: (\S+)/.exec(digests[0]!.text)![1]!);
    expect(link.pathname).toBe(`/v1/plans/${started.planId}`);
    const check = checkLink({
      hmac: hmacSha256Hex,
      linkSecret: LINK_SECRET,
      planId: started.planId,
      exp: link.searchParams.get('exp') ?? undefined,
      sig: link.searchParams.get('sig') ?? undefined,
      now: NOW,
    });
    expect(check).toBe('valid');
  });

  it('does nothing more for a redelivered schedule event or a redelivered repository task', async () => {
    // Prepare
    seedEcr({ web: 4 });
    const { deps, queue, plans, digests } = await newDeps();
    await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();

    // Act
    const again = await startScan({ scheduledAt: SCHEDULED }, deps);
    await scanRepository({ planId: planIdFor(SCHEDULED), repository: 'web' }, deps);

    // Assess
    expect(again.started).toBe(false);
    expect(digests).toHaveLength(1);
    expect(await plans.storedRepositories(planIdFor(SCHEDULED))).toBe(1);
  });

  it('sends the tasks again when the schedule is retried after the fan-out failed, and completes the plan', async () => {
    // Prepare: the first run creates the plan, then sending the tasks fails (SQS down).
    seedEcr({ web: 4, api: 2 });
    const { deps, queue, plans, digests } = await newDeps();
    const failing = {
      ...deps,
      queue: { enqueue: async () => Promise.reject(new Error('SendMessageBatch failed')) },
    };
    await expect(startScan({ scheduledAt: SCHEDULED }, failing)).rejects.toThrow('SendMessageBatch failed');
    expect((await plans.getPlan(planIdFor(SCHEDULED)))?.status).toBe('SCANNING');

    // Act: EventBridge retries the event.
    const again = await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();

    // Assess
    expect(again.started).toBe(false);
    expect((await plans.getPlan(planIdFor(SCHEDULED)))?.status).toBe('PENDING');
    expect(await plans.storedRepositories(planIdFor(SCHEDULED))).toBe(2);
    expect(digests).toHaveLength(1);
  });

  it('lists the plan again when the schedule is retried after its entry in the list of plans failed', async () => {
    // Prepare: the first run writes the plan, then its entry in the dashboard's list fails.
    seedEcr({ web: 4 });
    const { deps, queue, plans, tableName } = await newDeps();
    let failed = false;
    const flaky = {
      send(command: PutCommand) {
        if (!failed && command instanceof PutCommand && command.input.Item?.pk === 'PLANS') {
          failed = true;
          return Promise.reject(new Error('ProvisionedThroughputExceededException'));
        }
        return dynamo.documents.send(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const failing = { ...deps, plans: new DynamoPlanStore({ client: flaky, tableName }) };
    await expect(startScan({ scheduledAt: SCHEDULED }, failing)).rejects.toThrow('ProvisionedThroughput');
    expect(await plans.recentPlans(10)).toEqual([]);

    // Act: EventBridge retries the event, and a duplicate of it comes later.
    await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();
    await startScan({ scheduledAt: SCHEDULED }, deps);

    // Assess: listed once, and planned.
    const listed = await plans.recentPlans(10);
    expect(listed.map((plan) => [plan.id, plan.status])).toEqual([[planIdFor(SCHEDULED), 'PENDING']]);
  });

  it('sends only the tasks still missing, and none when the managed repositories changed', async () => {
    // Prepare: one repository stored by a task that went out before the failure.
    seedEcr({ web: 4, api: 2 });
    const { deps, queue, plans } = await newDeps();
    const sent: string[] = [];
    const partly = {
      ...deps,
      queue: {
        enqueue: async (tasks: readonly { planId: string; repository: string }[]) => {
          await scanRepository(tasks[0]!, deps);
          throw new Error('second batch failed');
        },
      },
    };
    await expect(startScan({ scheduledAt: SCHEDULED }, partly)).rejects.toThrow('second batch failed');
    const recording = {
      ...deps,
      queue: {
        enqueue: async (tasks: readonly { planId: string; repository: string }[]) => {
          sent.push(...tasks.map((task) => task.repository));
          await queue.enqueue(tasks);
        },
      },
    };

    // Act
    await startScan({ scheduledAt: SCHEDULED }, recording);
    await queue.drained();

    // Assess
    expect(sent).toEqual(['web']);
    expect((await plans.getPlan(planIdFor(SCHEDULED)))?.status).toBe('PENDING');

    // And a third repository meanwhile: the plan cannot complete as counted, nothing is sent.
    const other = await newDeps();
    seedEcr({ web: 4, api: 2 });
    await expect(
      startScan(
        { scheduledAt: SCHEDULED },
        { ...other.deps, queue: { enqueue: async () => Promise.reject(new Error('down')) } },
      ),
    ).rejects.toThrow('down');
    seedEcr({ web: 4, api: 2, jobs: 1 });
    const later: string[] = [];
    await startScan(
      { scheduledAt: SCHEDULED },
      {
        ...other.deps,
        queue: { enqueue: async (tasks) => void later.push(...tasks.map((task) => task.repository)) },
      },
    );
    expect(later).toEqual([]);

    // Or one repository gone and another come, as many as before: nothing is sent either.
    const swapped = await newDeps();
    seedEcr({ web: 4, api: 2 });
    await expect(
      startScan(
        { scheduledAt: SCHEDULED },
        { ...swapped.deps, queue: { enqueue: async () => Promise.reject(new Error('down')) } },
      ),
    ).rejects.toThrow('down');
    seedEcr({ web: 4, jobs: 2 });
    const afterSwap: string[] = [];
    await startScan(
      { scheduledAt: SCHEDULED },
      {
        ...swapped.deps,
        queue: { enqueue: async (tasks) => void afterSwap.push(...tasks.map((task) => task.repository)) },
      },
    );
    expect(afterSwap).toEqual([]);
  });

  it('does not plan a repository again when its task comes back after the plan went out', async () => {
    // Prepare: a plan of 4 candidates went out; then a cluster starts running one of them.
    seedEcr({ web: 4 });
    const { deps, queue, plans, sightings, digests } = await newDeps();
    const { planId } = await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();
    const listed = ecr.commandCalls(DescribeImagesCommand).length;
    await sightings.recordReport({
      cluster: 'prod',
      observedAt: NOW,
      sightings: [
        {
          cluster: 'prod',
          observedAt: NOW,
          ref: { registry: HOST, repository: 'web', digest: digestOf('web-0') },
        },
      ],
    });

    // Act: the repository task is delivered again.
    await scanRepository({ planId, repository: 'web' }, deps);

    // Assess: the plan is the one the digest announced, and the registry was not read again.
    const page = await plans.candidates(planId, 'web');
    expect(page.items.map((item) => item.digest).sort()).toEqual(
      [0, 1, 2, 3].map((i) => digestOf(`web-${i}`)).sort(),
    );
    expect(page.next).toBeUndefined();
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(listed);
    expect(digests).toHaveLength(1);
  });

  it('sends the digest when its task comes back after publishing failed, and only once', async () => {
    // Prepare: SNS refuses the first publish.
    seedEcr({ web: 4 });
    const { deps, queue, plans, digests } = await newDeps();
    const publish = deps.notifier.publish;
    let failures = 1;
    (deps as { notifier: ScanDeps['notifier'] }).notifier = {
      publish: async (digest) => {
        if (failures-- > 0) throw new Error('ThrottlingException: Rate exceeded');
        await publish(digest);
      },
    };
    const { planId } = await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();
    expect(queue.deadLetters.map((letter) => letter.error)).toEqual(['ThrottlingException: Rate exceeded']);
    expect((await plans.getPlan(planId))?.status).toBe('PENDING');
    expect(digests).toHaveLength(0);

    // Act: the failed task comes back, then once more.
    await scanRepository({ planId, repository: 'web' }, deps);
    await scanRepository({ planId, repository: 'web' }, deps);

    // Assess
    expect(digests).toHaveLength(1);
    expect((await plans.getPlan(planId))?.digestSentAt).toEqual(NOW);
  });

  it('reports a repository that cannot be listed in the plan and still plans the others', async () => {
    seedEcr({ web: 4, secret: 0 });
    ecr.on(DescribeImagesCommand, { repositoryName: 'secret' }).rejects(
      new ECRServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: {},
        message: 'no',
      }),
    );
    const { deps, queue, plans, digests } = await newDeps();
    const started = await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();
    const summaries = await plans.summaries(started.planId);
    expect(summaries.find((summary) => summary.repository === 'secret')?.error).toContain('access denied');
    expect(summaries.find((summary) => summary.repository === 'web')?.candidates).toBe(4);
    expect(digests[0]?.text).toContain('Could not be scanned');
  });

  it('proposes nothing in a repository a stale cluster reported from, and the digest names it', async () => {
    // Prepare
    seedEcr({ web: 4 });
    const { deps, queue, plans, sightings, digests } = await newDeps();
    await sightings.recordReport({
      cluster: 'edge-1',
      observedAt: new Date(NOW.getTime() - 9 * 3_600_000),
      sightings: [
        {
          cluster: 'edge-1',
          observedAt: new Date(NOW.getTime() - 9 * 3_600_000),
          ref: { registry: HOST, repository: 'web', tag: 'build-0' },
        },
      ],
    });

    // Act
    const started = await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();

    // Assess
    const [summary] = await plans.summaries(started.planId);
    expect(summary?.candidates).toBe(0);
    expect(summary?.blockedBy.map((stale) => stale.cluster)).toEqual(['edge-1']);
    expect(digests[0]?.text).toContain('web: cluster edge-1 last reported');
  });

  it('stores a repository blocked by a cluster whose newer report arrived only in part, and says so', async () => {
    // Prepare: a whole report 10 hours ago, then part 1 of 2 of a newer one 9 hours ago.
    seedEcr({ web: 4 });
    const { deps, queue, plans, sightings, digests } = await newDeps();
    const sighting = (observedAt: Date) => ({
      cluster: 'edge-1',
      observedAt,
      ref: { registry: HOST, repository: 'web', tag: 'build-0' },
    });
    const whole = new Date(NOW.getTime() - 10 * 3_600_000);
    const part = new Date(NOW.getTime() - 9 * 3_600_000);
    await sightings.recordReport({ cluster: 'edge-1', observedAt: whole, sightings: [sighting(whole)] });
    await sightings.recordReport({
      cluster: 'edge-1',
      observedAt: part,
      sightings: [sighting(part)],
      round: { key: part.toISOString(), part: 1, parts: 2 },
    });

    // Act
    const started = await startScan({ scheduledAt: SCHEDULED }, deps);
    await queue.drained();

    // Assess
    expect(queue.deadLetters).toEqual([]);
    const [summary] = await plans.summaries(started.planId);
    expect(summary?.candidates).toBe(0);
    expect(summary?.blockedBy).toEqual([{ cluster: 'edge-1', lastReportAt: whole, lastPartAt: part }]);
    expect((await plans.getPlan(started.planId))?.status).toBe('PENDING');
    expect(digests[0]?.text).toContain('a part of a newer report arrived 9 hours ago, the rest did not');
  });

  it('records why a scan could not run when the registry cannot be listed', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(new Error('connect ECONNREFUSED'));
    const { deps, plans, digests } = await newDeps();
    const started = await startScan({ scheduledAt: SCHEDULED }, deps);
    expect(started.error).toContain('ECONNREFUSED');
    expect(await plans.getPlan(started.planId)).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('ECONNREFUSED'),
    });
    expect(digests).toHaveLength(0);
  });

  it('sends no digest when all is clean unless configured to', async () => {
    seedEcr({ web: 0 });
    const quiet = await newDeps();
    await startScan({ scheduledAt: SCHEDULED }, quiet.deps);
    await quiet.queue.drained();
    expect(quiet.digests).toHaveLength(0);
    const chatty = await newDeps(parseScanConfig({ notifyWhenClean: true }));
    await startScan({ scheduledAt: SCHEDULED }, chatty.deps);
    await chatty.queue.drained();
    expect(chatty.digests.map((digest) => digest.subject)).toEqual(['registry-janitor: nothing to delete']);
  });
});

describe('DynamoPlanStore', () => {
  it('writes a plan of 100,000 candidates within item limits and reads it back in pages', async () => {
    // Prepare
    const tableName = await dynamo.newTable();
    const plans = new DynamoPlanStore({ client: dynamo.documents, tableName });
    await plans.createPlan({ id: 'big', createdAt: NOW, totalRepositories: 1, linkExp: 0, policyHash: 'x' });
    const candidates = manyCandidates(100_000, NOW);
    const summary = {
      repository: 'big',
      totalImages: 100_020,
      candidates: 100_000,
      candidateBytes: 5e11,
      topReasons: [],
      blockedBy: [],
    };

    // Act
    expect(await plans.putRepositoryPlan('big', summary, candidates)).toBe(true);
    const read: PlanItem[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await plans.candidates('big', 'big', cursor);
      read.push(...page.items);
      cursor = page.next;
      pages++;
    } while (cursor);

    // Assess
    expect(read).toHaveLength(100_000);
    expect(read[99_999]).toEqual(candidates[99_999]);
    expect(pages).toBeGreaterThan(50);
    expect(await plans.putRepositoryPlan('big', summary, candidates)).toBe(false);
  });

  it('reads the pages of the stored attempt only: a second attempt of fewer candidates mixes nothing in', async () => {
    // Prepare
    const tableName = await dynamo.newTable();
    const plans = new DynamoPlanStore({ client: dynamo.documents, tableName });
    await plans.createPlan({ id: 'p', createdAt: NOW, totalRepositories: 1, linkExp: 0, policyHash: 'x' });
    const summary = (count: number) => ({
      repository: 'web',
      totalImages: count,
      candidates: count,
      candidateBytes: count,
      topReasons: [],
      blockedBy: [],
    });
    const first = manyCandidates(20_000, NOW);

    // Act: the first attempt is stored; a redelivered one writes 10 candidates and is refused.
    expect(await plans.putRepositoryPlan('p', summary(20_000), first)).toBe(true);
    expect(await plans.putRepositoryPlan('p', summary(10), manyCandidates(10, NOW))).toBe(false);
    const read: PlanItem[] = [];
    let cursor: string | undefined;
    do {
      const page = await plans.candidates('p', 'web', cursor);
      read.push(...page.items);
      cursor = page.next;
    } while (cursor);

    // Assess
    expect(read).toEqual(first);
  });

  it('never writes another outcome over deleted: two overlapping deleter runs of one plan', async () => {
    const tableName = await dynamo.newTable();
    const plans = new DynamoPlanStore({ client: dynamo.documents, tableName });
    await plans.createPlan({ id: 'o', createdAt: NOW, totalRepositories: 1, linkExp: 0, policyHash: 'x' });
    const skipped: ImageOutcome = { status: 'skipped', reason: 'its family changed since the scan' };

    await plans.recordOutcomes('o', new Map([['web@a', { status: 'deleted' }]]));
    await plans.recordOutcomes('o', new Map([['web@b', { status: 'failed', error: 'throttled' }]]));
    await plans.recordOutcomes(
      'o',
      new Map([
        ['web@a', skipped],
        ['web@b', skipped],
      ]),
    );

    expect(await plans.outcomes('o')).toEqual(
      new Map<string, ImageOutcome>([
        ['web@a', { status: 'deleted' }],
        ['web@b', skipped],
      ]),
    );
  });

  it('fails a read of a page the summary names but the table lacks, instead of ending the list there', async () => {
    // Prepare: a stored repository plan of several pages, then its second page removed.
    const tableName = await dynamo.newTable();
    const plans = new DynamoPlanStore({ client: dynamo.documents, tableName });
    await plans.createPlan({ id: 'q', createdAt: NOW, totalRepositories: 1, linkExp: 0, policyHash: 'x' });
    const summary = {
      repository: 'web',
      totalImages: 20_000,
      candidates: 20_000,
      candidateBytes: 1,
      topReasons: [],
      blockedBy: [],
    };
    await plans.putRepositoryPlan('q', summary, manyCandidates(20_000, NOW));
    const stored = await dynamo.documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :items)',
        ExpressionAttributeValues: { ':pk': 'PLAN#q', ':items': 'ITEMS#' },
        ProjectionExpression: 'pk, sk',
      }),
    );
    const pageKeys = (stored.Items ?? []).map((item) => String(item.sk)).sort();
    expect(pageKeys.length).toBeGreaterThan(2);
    const first = await plans.candidates('q', 'web');
    // Page keys end in a zero-padded page number: the second in key order is page 2.
    await dynamo.documents.send(
      new DeleteCommand({ TableName: tableName, Key: { pk: 'PLAN#q', sk: pageKeys[1]! } }),
    );

    // Act / Assess
    await expect(plans.candidates('q', 'web', first.next)).rejects.toThrow(
      /plan q: candidate page 2 of \d+ of web is missing from the table/,
    );
  });
});
