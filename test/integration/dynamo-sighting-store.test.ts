import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DynamoSightingStore } from '../../lambdas/adapters/dynamo-sighting-store';
import type { Sighting } from '../../lambdas/core/model';
import { planCleanup } from '../../lambdas/core/plan';
import { anImage, aPolicy, digestOf } from '../fixtures/builders';
import { type LocalDynamo, startDynalite } from '../fixtures/dynalite';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const T0 = new Date('2026-11-22T18:00:00Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

async function newStore() {
  const tableName = await dynamo.newTable();
  dynamo.resetCounts();
  return { tableName, store: new DynamoSightingStore({ client: dynamo.documents, tableName }) };
}

/** A 2,000-pod report of 150 distinct images: each image runs in ~13 pods. */
function bigReport(
  cluster: string,
  observedAt: Date,
): { cluster: string; observedAt: Date; sightings: Sighting[] } {
  const sightings: Sighting[] = [];
  for (let pod = 0; pod < 2000; pod++) {
    const image = pod % 150;
    sightings.push({
      cluster,
      observedAt,
      ref: {
        registry: ECR,
        repository: `app-${image % 10}`,
        tag: `build-${image}`,
        digest: digestOf(`img-${image}`),
      },
      namespace: 'shop',
      workload: `Deployment/app-${image}`,
    });
  }
  return { cluster, observedAt, sightings };
}

const writes = () => dynamo.counts.get('UpdateItemCommand') ?? 0;

/** The repositories of `bigReport`, as a heartbeat keeps them. */
const APPS = Array.from({ length: 10 }, (_, i) => `app-${i}`);

describe('DynamoSightingStore', () => {
  it('writes one item per distinct image and the heartbeat (first marked begun), and nothing again within the hour', async () => {
    // Prepare
    const { store } = await newStore();

    // Act
    const first = await store.recordReport(bigReport('prod-eu', T0));
    const firstWrites = writes();
    dynamo.resetCounts();
    const repeat = await store.recordReport(bigReport('prod-eu', minutes(5)));

    // Assess
    expect(first).toEqual({ distinct: 150, written: 150, reported: true });
    // 150 sightings, the heartbeat, and (the cluster's first report) the mark that it began.
    expect(firstWrites).toBe(152);
    expect(repeat).toEqual({ distinct: 150, written: 0, reported: true });
    expect(writes()).toBe(1);
  });

  it('writes a sighting again once it is an hour old, moving lastSeen forward', async () => {
    const { store } = await newStore();
    await store.recordReport(bigReport('prod-eu', T0));
    dynamo.resetCounts();
    const later = await store.recordReport(bigReport('prod-eu', minutes(61)));
    expect(later.written).toBe(150);
    const sightings = await store.sightingsOf('app-3');
    expect(new Set(sightings.map((sighting) => sighting.observedAt.toISOString()))).toEqual(
      new Set([minutes(61).toISOString()]),
    );
  });

  it('never moves lastSeen or the heartbeat backwards when an older report arrives late', async () => {
    const { store } = await newStore();
    await store.recordReport(bigReport('prod-eu', minutes(120)));
    await store.recordReport({ ...bigReport('prod-eu', T0), observedAt: T0 });
    const [sighting] = await store.sightingsOf('app-1');
    expect(sighting?.observedAt).toEqual(minutes(120));
    expect(await store.clusterReports()).toEqual([
      { cluster: 'prod-eu', lastReportAt: minutes(120), repositories: APPS },
    ]);
  });

  it('keeps concurrent reports of two clusters apart', async () => {
    // Prepare
    const { store } = await newStore();

    // Act
    await Promise.all([
      store.recordReport(bigReport('prod-eu', T0)),
      store.recordReport(bigReport('prod-us', minutes(1))),
    ]);

    // Assess
    const sightings = await store.sightingsOf('app-0');
    expect(sightings).toHaveLength(30);
    expect(new Set(sightings.map((sighting) => sighting.cluster))).toEqual(new Set(['prod-eu', 'prod-us']));
    const reports = await store.clusterReports();
    expect(reports.sort((a, b) => a.cluster.localeCompare(b.cluster))).toEqual([
      { cluster: 'prod-eu', lastReportAt: T0, repositories: APPS },
      { cluster: 'prod-us', lastReportAt: minutes(1), repositories: APPS },
    ]);
  });

  it('reads back every sighting of a repository as the scan needs it, with tag, digest and workload', async () => {
    const { store } = await newStore();
    await store.recordReport(bigReport('prod-eu', T0));
    const sightings = await store.sightingsOf('app-7');
    expect(sightings).toHaveLength(15);
    expect(sightings).toContainEqual({
      cluster: 'prod-eu',
      observedAt: T0,
      ref: { registry: ECR, repository: 'app-7', tag: 'build-7', digest: digestOf('img-7') },
      namespace: 'shop',
      workload: 'Deployment/app-7',
    });
    expect(await store.sightingsOf('no-such-repository')).toEqual([]);
  });

  it('sets the TTL attribute 90 days after lastSeen', async () => {
    const { store, tableName } = await newStore();
    await store.recordReport(bigReport('prod-eu', T0));
    const item = await dynamo.documents.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: 'REPO#app-0', sk: `SIGHT#prod-eu#${ECR}#build-0@${digestOf('img-0')}` },
      }),
    );
    expect(item.Item?.expiresAt).toBe(T0.getTime() / 1000 + 90 * 86_400);
  });

  it('does not move the heartbeat when a sighting cannot be written, so the report is sent again', async () => {
    // Prepare
    const { store, tableName } = await newStore();
    const failOne = {
      send(command: unknown) {
        if (command instanceof UpdateCommand && String(command.input.Key?.sk).includes('#build-42@')) {
          return Promise.reject(new Error('ProvisionedThroughputExceededException'));
        }
        return dynamo.documents.send(command as UpdateCommand);
      },
    } as unknown as DynamoDBDocumentClient;
    const failing = new DynamoSightingStore({ client: failOne, tableName });

    // Act
    const attempt = failing.recordReport(bigReport('prod-eu', T0));

    // Assess: a report half stored never passes for a whole one, even the cluster's first.
    await expect(attempt).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(await store.clusterReports()).toEqual([
      { cluster: 'prod-eu', lastReportAt: T0, incomplete: true, repositories: APPS },
    ]);
    const snapshot = await store.snapshotFor('app-2');
    // The image whose sighting was not written: unused by the rest of the report.
    const unwritten = {
      ...anImage('build-42', 'app-2').tagged('build-42').build(),
      digest: digestOf('img-42'),
    };
    const plan = planCleanup({
      repositories: [{ repository: 'app-2', images: [unwritten] }],
      ...snapshot,
      policy: aPolicy({ rules: { keep: [], deleteUntagged: false, unusedTagged: true } }),
      registryHosts: [ECR],
      now: minutes(1),
    });
    expect(plan.repositories[0]?.blockedBy.map((stale) => stale.cluster)).toEqual(['prod-eu']);
    expect(plan.repositories[0]?.items.map((item) => item.decision)).toEqual(['keep']);
    const retried = await store.recordReport(bigReport('prod-eu', T0));
    expect(retried.written).toBeGreaterThanOrEqual(1);
    expect(await store.clusterReports()).toEqual([
      { cluster: 'prod-eu', lastReportAt: T0, repositories: APPS },
    ]);
  });
});

describe('DynamoSightingStore: where a cluster reported from', () => {
  const sightingIn = (repository: string, at: Date, digest = digestOf(repository)): Sighting => ({
    cluster: 'prod-eu',
    observedAt: at,
    ref:
      repository === ''
        ? { registry: '', repository, digest }
        : { registry: ECR, repository, tag: 'v1', digest },
  });
  const report = (at: Date, ...repositories: string[]) => ({
    cluster: 'prod-eu',
    observedAt: at,
    sightings: repositories.map((repository) => sightingIn(repository, at)),
  });

  /** Deletes the items whose `expiresAt` has passed at `now`, as DynamoDB's TTL does. */
  async function expireAt(tableName: string, partition: string, now: Date): Promise<void> {
    const answer = await dynamo.documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partition },
      }),
    );
    for (const item of answer.Items ?? []) {
      if (typeof item.expiresAt === 'number' && item.expiresAt * 1000 < now.getTime())
        await dynamo.documents.send(
          new DeleteCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk } }),
        );
    }
  }

  it("keeps blocking a repository after a silent cluster's sightings there expired", async () => {
    // Prepare: prod-eu reported web, then fell silent (its reporter removed, its key revoked).
    const { store, tableName } = await newStore();
    await store.recordReport(report(T0, 'web'));
    const later = new Date(T0.getTime() + 91 * 86_400_000);
    await expireAt(tableName, 'REPO#web', later);

    // Act
    const snapshot = await store.snapshotFor('web');
    const plan = planCleanup({
      repositories: [{ repository: 'web', images: [anImage('old').pushedDaysAgo(200).build()] }],
      ...snapshot,
      policy: aPolicy({ rules: { deleteUntagged: true } }),
      now: later,
    });

    // Assess: the sighting is gone, the cluster still blocks web.
    expect(snapshot.sightings).toEqual([]);
    expect(plan.repositories[0]!.blockedBy.map((stale) => stale.cluster)).toEqual(['prod-eu']);
    expect(plan.repositories[0]!.items.map((item) => item.decision)).toEqual(['keep']);
  });

  it('adds the repositories of every body of a round, and of an older report arriving late', async () => {
    const { store } = await newStore();
    await store.recordReport(report(T0, 'web'));
    await store.recordReport(report(T0, 'api')); // the round's second body: the same observedAt
    await store.recordReport(report(minutes(-60), 'legacy')); // a retry of an older round

    expect(await store.clusterReports()).toEqual([
      { cluster: 'prod-eu', lastReportAt: T0, repositories: ['api', 'legacy', 'web'] },
    ]);
  });

  describe('a report of several bodies', () => {
    const part = (at: Date, index: number, parts: number, repository: string) => ({
      ...report(at, repository),
      round: { key: at.toISOString(), part: index, parts },
    });
    /**
     * A plan at T0 of `web`, holding one old unused build, from what the store gives a scan: the
     * repository's sightings (the parts' among them) and every cluster's heartbeat.
     */
    const planOfWeb = async (store: DynamoSightingStore) =>
      planCleanup({
        repositories: [
          { repository: 'web', images: [anImage('old').tagged('build-1').pushedDaysAgo(30).build()] },
        ],
        ...(await store.snapshotFor('web')),
        policy: aPolicy({ rules: { unusedTagged: true } }),
        now: T0,
      });

    it('moves the heartbeat once every part arrived, in any order, a part sent twice included', async () => {
      const { store } = await newStore();
      await store.recordReport(report(minutes(-60), 'web'));
      expect((await store.recordReport(part(T0, 3, 3, 'web'))).reported).toBe(false);
      expect((await store.recordReport(part(T0, 1, 3, 'api'))).reported).toBe(false);
      expect((await store.recordReport(part(T0, 1, 3, 'api'))).reported).toBe(false);
      expect(await store.clusterReports()).toEqual([
        // Not silent: a part arrived at T0, though its last whole report is older.
        { cluster: 'prod-eu', lastReportAt: minutes(-60), lastPartAt: T0, repositories: ['api', 'web'] },
      ]);
      expect((await store.recordReport(part(T0, 2, 3, 'jobs'))).reported).toBe(true);
      expect(await store.clusterReports()).toEqual([
        { cluster: 'prod-eu', lastReportAt: T0, repositories: ['api', 'jobs', 'web'] },
      ]);
    });

    it('leaves the heartbeat where it was while a part is missing, report after report', async () => {
      // A body refused every time (or a Job killed before its last body): the cluster must age.
      const { store } = await newStore();
      await store.recordReport(report(minutes(-600), 'web'));
      for (const at of [minutes(-300), minutes(-200), minutes(-100)]) {
        await store.recordReport(part(at, 1, 2, 'web'));
      }
      const [heartbeat] = await store.clusterReports();
      expect(heartbeat?.lastReportAt).toEqual(minutes(-600));
      expect(heartbeat?.lastPartAt).toEqual(minutes(-100));
      const plan = await planOfWeb(store);
      expect(plan.repositories[0]!.blockedBy.map((stale) => stale.cluster)).toEqual(['prod-eu']);
      expect(plan.repositories[0]!.items[0]?.reason).toBe(
        'kept: deletions blocked, no recent report from prod-eu (last whole report 10 hours ago, only parts of newer ones since)',
      );
    });

    it('counts a cluster that never sent a whole report as silent: it blocks where it reported', async () => {
      const { store } = await newStore();
      await store.recordReport(part(T0, 1, 2, 'web'));
      expect(await store.clusterReports()).toEqual([
        { cluster: 'prod-eu', lastReportAt: T0, incomplete: true, repositories: ['web'] },
      ]);
      const plan = await planOfWeb(store);
      expect(plan.repositories[0]!.items.map((item) => item.reason)).toEqual([
        'kept: deletions blocked, no recent report from prod-eu (no whole report yet, an unfinished one just now)',
      ]);
    });

    it('takes a part of an older report, arriving late, for its repositories alone', async () => {
      const { store } = await newStore();
      await store.recordReport(part(T0, 1, 2, 'web'));
      expect((await store.recordReport(part(minutes(-60), 2, 2, 'legacy'))).reported).toBe(false);
      expect((await store.recordReport(part(T0, 2, 2, 'api'))).reported).toBe(true);
      expect(await store.clusterReports()).toEqual([
        { cluster: 'prod-eu', lastReportAt: T0, repositories: ['api', 'legacy', 'web'] },
      ]);
    });

    it('completes a report whose parts arrive at once', async () => {
      const { store } = await newStore();
      const results = await Promise.all(
        [1, 2, 3, 4].map((n) => store.recordReport(part(T0, n, 4, `app-${n}`))),
      );
      expect(results.filter((result) => result.reported).length).toBeGreaterThanOrEqual(1);
      expect((await store.clusterReports())[0]).toMatchObject({ cluster: 'prod-eu', lastReportAt: T0 });
      expect((await store.clusterReports())[0]?.incomplete).toBeUndefined();
    });
  });

  it('keeps the sighting of a bare digest, which names no repository, without expiry', async () => {
    const { store, tableName } = await newStore();
    await store.recordReport(report(T0, ''));

    const items = await dynamo.documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'REPO#' },
      }),
    );
    expect(items.Items).toHaveLength(1);
    expect(items.Items?.[0]).not.toHaveProperty('expiresAt');
    expect(await store.clusterReports()).toEqual([{ cluster: 'prod-eu', lastReportAt: T0 }]);
  });
});

describe('DynamoSightingStore.snapshotFor', () => {
  it('reads the heartbeats first, then the sightings, all consistently', async () => {
    // Prepare
    const { store, tableName } = await newStore();
    await store.recordReport(bigReport('prod-eu', T0));
    const queries: { pk: unknown; consistent: unknown }[] = [];
    const recording = {
      send(command: unknown) {
        if (command instanceof QueryCommand) {
          queries.push({
            pk: command.input.ExpressionAttributeValues?.[':pk'],
            consistent: command.input.ConsistentRead,
          });
        }
        return dynamo.documents.send(command as QueryCommand);
      },
    } as unknown as DynamoDBDocumentClient;

    // Act
    const snapshot = await new DynamoSightingStore({ client: recording, tableName }).snapshotFor('app-3');

    // Assess
    expect(queries[0]).toEqual({ pk: 'CLUSTER', consistent: true });
    expect(
      queries
        .slice(1)
        .map((query) => query.pk)
        .sort(),
    ).toEqual(['REPO#', 'REPO#app-3']);
    expect(queries.every((query) => query.consistent === true)).toBe(true);
    expect(snapshot.sightings).toHaveLength(15);
    expect(snapshot.clusterReports).toEqual([{ cluster: 'prod-eu', lastReportAt: T0, repositories: APPS }]);
  });
});
