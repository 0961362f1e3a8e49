import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSightingStore } from '../../lambdas/adapters/dynamo-sighting-store';
import type { Sighting } from '../../lambdas/core/model';
import { retireClusterCommand } from '../../lambdas/handlers/retire-cluster-command';
import { lockDataDir } from '../../lambdas/local/data-dir';
import { SERVE_TABLE, startDatabase } from '../../lambdas/local/serve';
import { digestOf } from '../fixtures/builders';
import { type LocalDynamo, startDynalite } from '../fixtures/dynalite';
import { runCli } from '../fixtures/run-cli';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const AT = new Date('2026-11-22T18:00:00Z');

/** Runs `act` with the SDK's DynamoDB endpoint and credentials set to dynalite's, as a user's shell would. */
async function withDynamoEndpoint<T>(endpoint: string, act: () => Promise<T>): Promise<T> {
  const settings = {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  };
  const saved = Object.fromEntries(Object.keys(settings).map((name) => [name, process.env[name]]));
  Object.assign(process.env, settings);
  try {
    return await act();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** A report of one image in each of `repositories` from `cluster`. */
function report(cluster: string, ...repositories: string[]) {
  const sightings: Sighting[] = repositories.map((repository) => ({
    cluster,
    observedAt: AT,
    ref: { registry: ECR, repository, tag: 'v1', digest: digestOf(`${cluster}/${repository}`) },
  }));
  return { cluster, observedAt: AT, sightings };
}

describe('registry-janitor retire-cluster', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(() => dynamo.close());

  it('forgets a cluster through the SDK (--table): its heartbeat and sightings, no other cluster', async () => {
    // Prepare
    const tableName = await dynamo.newTable();
    const store = new DynamoSightingStore({ client: dynamo.documents, tableName });
    await store.recordReport(report('edge-1', 'web', 'api'));
    await store.recordReport(report('prod-eu', 'web'));
    const env = {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    };

    // Act
    const retired = await runCli(['retire-cluster', 'edge-1', '--table', tableName], { env });
    const again = await runCli(['retire-cluster', 'edge-1', '--table', tableName], { env });

    // Assess
    expect(retired).toMatchObject({ code: 0, stderr: '' });
    expect(retired.stdout).toBe(
      'retired edge-1: its heartbeat and 2 sightings deleted; its silence no longer blocks 2 repositories\n',
    );
    expect((await store.clusterReports()).map((known) => known.cluster)).toEqual(['prod-eu']);
    expect((await store.sightingsOf('web')).map((sighting) => sighting.cluster)).toEqual(['prod-eu']);
    expect(await store.sightingsOf('api')).toEqual([]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("no cluster 'edge-1' has reported here (known: prod-eu)");
  });

  it("forgets a cluster in a stopped serve's data dir, and refuses while serve runs", async () => {
    // Prepare: a data dir as serve leaves it.
    const dataDir = mkdtempSync(join(tmpdir(), 'janitor-retire-'));
    const database = await startDatabase(join(dataDir, 'dynamodb'));
    await new DynamoSightingStore({ client: database.documents, tableName: SERVE_TABLE }).recordReport(
      report('edge-1', 'web'),
    );
    await database.close();
    const out: string[] = [];
    const errors: string[] = [];
    const print = (line: string) => out.push(line);
    const printError = (line: string) => errors.push(line);

    // Act
    const running = lockDataDir(dataDir);
    const refused = await retireClusterCommand('edge-1', { dataDir }, print, printError);
    running.release();
    const retired = await retireClusterCommand('edge-1', { dataDir }, print, printError);

    // Assess
    expect(refused).toBe(2);
    expect(errors[0]).toContain(`another registry-janitor serve (pid ${process.pid}) is using ${dataDir}`);
    expect(retired).toBe(0);
    expect(out).toEqual([
      'retired edge-1: its heartbeat and 1 sightings deleted; its silence no longer blocks 1 repositories',
    ]);
  });

  it('refuses a cluster that reported within the hour, and finds sightings its heartbeat does not name', async () => {
    // Prepare: prod-eu reports now; edge-1's heartbeat was written before it kept its repositories.
    const tableName = await dynamo.newTable();
    const store = new DynamoSightingStore({ client: dynamo.documents, tableName });
    const now = new Date();
    await store.recordReport({ ...report('prod-eu', 'web'), observedAt: now });
    await store.recordReport(report('edge-1', 'web', 'api'));
    // dc-2's last whole report is two hours old, but a part of a newer one arrived just now.
    const twoHoursAgo = new Date(now.getTime() - 2 * 3_600_000);
    await store.recordReport({ ...report('dc-2', 'web'), observedAt: twoHoursAgo });
    await store.recordReport({
      ...report('dc-2', 'web'),
      observedAt: now,
      round: { key: now.toISOString(), part: 1, parts: 2 },
    });
    await dynamo.documents.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'CLUSTER', sk: 'edge-1' },
        UpdateExpression: 'REMOVE repositories',
      }),
    );
    const out: string[] = [];
    const errors: string[] = [];
    const run = (cluster: string) =>
      retireClusterCommand(
        cluster,
        { table: tableName },
        (line) => out.push(line),
        (line) => errors.push(line),
        () => now,
      );

    // Act
    const [fresh, partly, silent] = await withDynamoEndpoint(dynamo.endpoint, async () => [
      await run('prod-eu'),
      await run('dc-2'),
      await run('edge-1'),
    ]);

    // Assess
    expect(fresh).toBe(2);
    expect(errors[0]).toContain('prod-eu reported just now: remove its reporter first');
    expect(partly).toBe(2);
    expect(errors[1]).toContain('dc-2 reported just now: remove its reporter first');
    expect(silent).toBe(0);
    expect(out).toEqual([
      'retired edge-1: its heartbeat and 2 sightings deleted; its silence no longer blocks 2 repositories',
    ]);
    expect(await store.sightingsOf('api')).toEqual([]);
    expect((await store.clusterReports()).map((known) => known.cluster)).toEqual(['dc-2', 'prod-eu']);
  });

  it.each([
    [['retire-cluster', 'edge-1'], 'pass --data-dir of a stopped serve, or --table'],
    [['retire-cluster', 'edge-1', '--data-dir', '/nonexistent/janitor'], 'holds no serve database'],
    [['retire-cluster', 'edge-1', '--data-dir', '/tmp/x', '--table', 't'], 'one of them'],
    [['retire-cluster', 'aws:ecs', '--table', 't'], "invalid cluster name 'aws:ecs'"],
  ])('exits 2 on %j', async (args, text) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(text);
  });
});
