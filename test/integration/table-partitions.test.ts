/**
 * The functions behind the public API may touch only the table partitions their roles allow
 * (`TABLE_PARTITIONS`, enforced in AWS with `dynamodb:LeadingKeys`). Here the real handlers and
 * stores run against dynalite through a client that records the partition key of every request,
 * so that a store reading a new partition fails this test, not a deployed function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import picomatch from 'picomatch';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { DynamoPlanStore } from '../../lambdas/adapters/dynamo-plan-store';
import { DynamoSightingStore } from '../../lambdas/adapters/dynamo-sighting-store';
import { silentLog } from '../../lambdas/adapters/log';
import type { ScanTask } from '../../lambdas/core/ports-scan';
import { clusterKey, signatureHeader } from '../../lambdas/core/signature';
import { applyApproval } from '../../lambdas/handlers/delete';
import type { HttpApiEvent } from '../../lambdas/handlers/http-api';
import { handleIngest } from '../../lambdas/handlers/ingest';
import { handleApprove, handleReview } from '../../lambdas/handlers/review';
import { scanRepository, startScan } from '../../lambdas/handlers/scan';
import {
  TABLE_ACTIONS,
  TABLE_PARTITIONS,
  TABLE_WRITE_ACTIONS,
  TABLE_WRITE_PARTITIONS,
} from '../../lib/table-access';
import { digestOf } from '../fixtures/builders';
import { type LocalDynamo, startDynalite } from '../fixtures/dynalite';
import { HOST, janitorWorld } from '../fixtures/janitor-world';

const ecr = mockClient(ECRClient);
const now = { value: new Date('2026-11-22T06:00:00Z') };
let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

/** A document client on dynalite that notes, per command, the partition keys it names. */
function recordingClient(): { documents: DynamoDBDocumentClient; requests: string[][]; close(): void } {
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const requests: string[][] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push([String(context.commandName), ...partitionKeys(args.input as Record<string, unknown>)]);
      return next(args);
    },
    // After the document client has marshalled the input.
    { step: 'serialize', priority: 'high', name: 'recordPartitions' },
  );
  return {
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    requests,
    close: () => client.destroy(),
  };
}

/** The `pk` values a request names, as IAM's `dynamodb:LeadingKeys` sees them. */
function partitionKeys(input: Record<string, unknown>): string[] {
  // Marshalled (`{ S: 'REPO#web' }`) or not, depending on where in the stack the input is read.
  const text = (value: unknown) =>
    typeof value === 'string' ? value : (value as { S?: string } | undefined)?.S;
  const keys: (string | undefined)[] = [];
  const key = input.Key as Record<string, unknown> | undefined;
  const item = input.Item as Record<string, unknown> | undefined;
  if (key) keys.push(text(key.pk));
  if (item) keys.push(text(item.pk));
  if (typeof input.KeyConditionExpression === 'string') {
    keys.push(text((input.ExpressionAttributeValues as Record<string, unknown>)[':pk']));
  }
  for (const request of Object.values((input.RequestItems ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(request)) {
      for (const write of request as {
        PutRequest?: { Item: { pk: unknown } };
        DeleteRequest?: { Key: { pk: unknown } };
      }[])
        keys.push(text(write.PutRequest?.Item.pk ?? write.DeleteRequest?.Key.pk));
    } else {
      for (const each of (request as { Keys: { pk: unknown }[] }).Keys) keys.push(text(each.pk));
    }
  }
  // A request naming no partition (a Scan) is outside every pattern.
  return keys.length === 0 ? ['(none)'] : keys.map((pk) => pk ?? '(unreadable)');
}

/** The requests with a partition key outside `patterns`, as `Command pk`. */
function outside(requests: readonly string[][], patterns: readonly string[]): string[] {
  const allowed = picomatch([...patterns], { dot: true });
  return requests.flatMap(([command, ...keys]) =>
    keys.filter((pk) => !allowed(pk)).map((pk) => `${command} ${pk}`),
  );
}

/** The POST of the review page's form approving the images tagged `tags` in `web`, from `link`. */
function approvalPost(link: URL, tags: readonly string[], http: Record<string, string> = {}): HttpApiEvent {
  const id = decodeURIComponent(link.pathname.split('/').at(-1)!);
  const form = new URLSearchParams([
    ...tags.map((tag): [string, string] => ['image', `web@${digestOf(`web/${tag}`)}`]),
    ['exp', link.searchParams.get('exp')!],
    ['sig', link.searchParams.get('sig')!],
  ]);
  return {
    rawPath: `/v1/plans/${id}/approve`,
    pathParameters: { id },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    requestContext: { http: { method: 'POST', ...http } },
  };
}

/** The commands of `requests` whose IAM action (`dynamodb:<Name>`) is not in `actions`. */
/** The requests that write (`TABLE_WRITE_ACTIONS`). */
const writesOf = (requests: readonly string[][]) =>
  requests.filter(([command]) => TABLE_WRITE_ACTIONS.has(`dynamodb:${command!.replace(/Command$/, '')}`));

function ungranted(requests: readonly string[][], actions: readonly string[]): string[] {
  const names = new Set(requests.map(([command]) => `dynamodb:${command!.replace(/Command$/, '')}`));
  return [...names].filter((action) => !actions.includes(action));
}

describe('table partitions of the public functions', () => {
  it('ingest reads and writes sightings and heartbeats only', async () => {
    // Prepare: a report with a tag, a digest and a bare digest sighting, sent twice (known keys).
    const tableName = await dynamo.newTable();
    const recording = recordingClient();
    const secret = 'ingest-secret';
    const t = Math.floor(now.value.getTime() / 1000);
    const body = JSON.stringify({
      cluster: 'prod-eu',
      observedAt: now.value.toISOString(),
      images: [
        {
          image: `${HOST}/web:1.4.2`,
          imageID: `${HOST}/web@${digestOf('web')}`,
          namespace: 'shop',
          workload: 'Deployment/web',
        },
        { image: digestOf('bare'), namespace: 'shop', workload: 'Job/once' },
      ],
    });
    const event: HttpApiEvent = {
      rawPath: '/v1/sightings',
      headers: {
        'content-type': 'application/json',
        'x-janitor-signature': signatureHeader(
          hmacSha256Hex,
          clusterKey(hmacSha256Hex, secret, 'prod-eu'),
          t,
          body,
        ),
      },
      body,
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', sourceIp: '203.0.113.9' } },
    };
    const deps = {
      store: new DynamoSightingStore({ client: recording.documents, tableName }),
      ingestSecret: async () => secret,
      now: () => now.value,
      hmac: hmacSha256Hex,
      log: silentLog,
    };
    try {
      // Act
      const answers = [await handleIngest(event, deps), await handleIngest(event, deps)];
      // Assess
      expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202]);
      expect(recording.requests.flatMap(([, ...keys]) => keys)).toEqual(
        expect.arrayContaining(['REPO#web', 'REPO#', 'CLUSTER']),
      );
      expect(outside(recording.requests, TABLE_PARTITIONS.ingest)).toEqual([]);
      expect(ungranted(recording.requests, TABLE_ACTIONS.ingest)).toEqual([]);
    } finally {
      recording.close();
    }
  });

  it('review reads, approves and shows the outcome of one plan, nothing else', async () => {
    // Prepare: a scanned plan with a review link, read and approved through the recording client.
    const world = await janitorWorld(dynamo, ecr, now);
    world.seed('web', ['a', 'b']);
    const { link } = await world.scan();
    if (!link) throw new Error('no review link in the digest');
    const recording = recordingClient();
    const deps = {
      ...world.reviewDeps,
      plans: new DynamoPlanStore({ client: recording.documents, tableName: world.tableName }),
    };
    const id = decodeURIComponent(link.pathname.split('/').at(-1)!);
    const exp = link.searchParams.get('exp')!;
    const sig = link.searchParams.get('sig')!;
    const http = { sourceIp: '198.51.100.7', userAgent: 'test-browser' };
    try {
      // Act: the page, the approval, then the page again with the outcomes.
      const page = await handleReview(
        {
          rawPath: `/v1/plans/${id}`,
          pathParameters: { id },
          queryStringParameters: { exp, sig },
          requestContext: { http: { method: 'GET', ...http } },
        },
        deps,
      );
      const approved = await handleApprove(approvalPost(link, ['a'], http), deps);
      await world.deletionsDone();
      const after = await handleReview(
        {
          rawPath: `/v1/plans/${id}`,
          pathParameters: { id },
          queryStringParameters: { exp, sig },
          requestContext: { http: { method: 'GET', ...http } },
        },
        deps,
      );
      // Assess
      expect([page.statusCode, approved.statusCode, after.statusCode]).toEqual([200, 200, 200]);
      expect(after.body).toMatch(/deleted/);
      expect(recording.requests.map(([command]) => command)).toEqual(
        expect.arrayContaining([
          'GetItemCommand',
          'QueryCommand',
          'BatchWriteItemCommand',
          'UpdateItemCommand',
        ]),
      );
      expect(outside(recording.requests, TABLE_PARTITIONS.review)).toEqual([]);
      expect(ungranted(recording.requests, TABLE_ACTIONS.review)).toEqual([]);
    } finally {
      recording.close();
    }
  });

  it('the deleter calls only what its role grants, a skipped outcome included', async () => {
    // Prepare: a and b approved; b is sighted before the deleter runs, so it is skipped.
    const world = await janitorWorld(dynamo, ecr, now);
    world.seed('web', ['a', 'b']);
    const { link } = await world.scan();
    if (!link) throw new Error('no review link in the digest');
    const id = decodeURIComponent(link.pathname.split('/').at(-1)!);
    const approving = { ...world.reviewDeps, startDeletion: async () => undefined };
    await handleApprove(approvalPost(link, ['a', 'b']), approving);
    await world.sightings.recordReport({
      cluster: 'prod-eu',
      observedAt: now.value,
      sightings: [
        {
          cluster: 'prod-eu',
          observedAt: now.value,
          ref: { registry: HOST, repository: 'web', digest: digestOf('web/b') },
        },
      ],
    });
    const recording = recordingClient();
    const deps = {
      ...world.deleteDeps,
      plans: new DynamoPlanStore({ client: recording.documents, tableName: world.tableName }),
      sightings: new DynamoSightingStore({ client: recording.documents, tableName: world.tableName }),
    };
    try {
      // Act
      await applyApproval(id, deps);
      // Assess
      const outcomes = await world.plans.outcomes(id);
      expect([...outcomes.values()].map((outcome) => outcome.status).sort()).toEqual(['deleted', 'skipped']);
      expect(ungranted(recording.requests, TABLE_ACTIONS.deleter)).toEqual([]);
      expect(writesOf(recording.requests).length).toBeGreaterThan(0);
      expect(outside(writesOf(recording.requests), TABLE_WRITE_PARTITIONS.deleter)).toEqual([]);
    } finally {
      recording.close();
    }
  });

  it('the scan functions call only what their roles grant, a resumed fan-out and deletion included', async () => {
    // Prepare: an earlier plan approved eight hours ago whose deletion never started, then the
    // schedule function and the worker each on a recording client of their own.
    const started = now.value;
    const world = await janitorWorld(dynamo, ecr, now);
    world.seed('web', ['a', 'b']);
    world.seed('api', ['c']);
    const { link } = await world.scan();
    if (!link) throw new Error('no review link in the digest');
    const earlier = decodeURIComponent(link.pathname.split('/').at(-1)!);
    await handleApprove(approvalPost(link, ['a']), {
      ...world.reviewDeps,
      startDeletion: async () => undefined,
    });
    now.value = new Date(started.getTime() + 8 * 60 * 60_000);
    const resumed: string[] = [];
    const schedule = recordingClient();
    const worker = recordingClient();
    const storesOn = (documents: DynamoDBDocumentClient) => ({
      plans: new DynamoPlanStore({ client: documents, tableName: world.tableName }),
      sightings: new DynamoSightingStore({ client: documents, tableName: world.tableName }),
    });
    const tasks: ScanTask[] = [];
    const scheduleDeps = {
      ...world.scanDeps,
      ...storesOn(schedule.documents),
      queue: { enqueue: async (sent: readonly ScanTask[]) => void tasks.push(...sent) },
      // So that it also looks for approvals left without their deletion.
      resumeDeletion: async (id: string) => void resumed.push(id),
    };
    const failingQueue = { enqueue: async () => Promise.reject(new Error('SendMessageBatch failed')) };
    const workerDeps = { ...world.scanDeps, ...storesOn(worker.documents) };
    try {
      // Act: a first run whose fan-out fails, its retry, a duplicate event, then the tasks.
      await expect(
        startScan({ scheduledAt: now.value }, { ...scheduleDeps, queue: failingQueue }),
      ).rejects.toThrow('SendMessageBatch failed');
      await startScan({ scheduledAt: now.value }, scheduleDeps);
      await startScan({ scheduledAt: now.value }, scheduleDeps);
      for (const task of tasks) await scanRepository(task, workerDeps);
      // Assess
      expect(tasks.map((task) => task.repository).sort()).toEqual(['api', 'web']);
      expect(world.digests).toHaveLength(2);
      // Each of the three events looks (the first one even though its fan-out failed).
      expect(resumed).toEqual([earlier, earlier, earlier]);
      expect(ungranted(schedule.requests, TABLE_ACTIONS.scanSchedule)).toEqual([]);
      expect(ungranted(worker.requests, TABLE_ACTIONS.scanWorker)).toEqual([]);
      for (const [requests, partitions] of [
        [schedule.requests, TABLE_WRITE_PARTITIONS.scanSchedule],
        [worker.requests, TABLE_WRITE_PARTITIONS.scanWorker],
      ] as const) {
        expect(writesOf(requests).length).toBeGreaterThan(0);
        expect(outside(writesOf(requests), partitions)).toEqual([]);
      }
    } finally {
      schedule.close();
      worker.close();
      now.value = started;
    }
  });

  it('the check itself sees a partition outside the patterns', () => {
    expect(
      outside(
        [
          ['QueryCommand', 'PLANS'],
          ['GetItemCommand', 'PLAN#1'],
        ],
        TABLE_PARTITIONS.review,
      ),
    ).toEqual(['QueryCommand PLANS']);
    expect(outside([['ScanCommand', '(none)']], TABLE_PARTITIONS.ingest)).toEqual(['ScanCommand (none)']);
    expect(ungranted([['PutItemCommand', 'PLAN#1']], TABLE_ACTIONS.review)).toEqual(['dynamodb:PutItem']);
  });
});
