import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect(errors[0]).toContain('stop serve first');
    expect(retired).toBe(0);
    expect(out).toEqual([
      'retired edge-1: its heartbeat and 1 sightings deleted; its silence no longer blocks 1 repositories',
    ]);
  });

  it.each([
    [['retire-cluster', 'edge-1'], 'pass --data-dir of a stopped serve, or --table'],
    [['retire-cluster', 'edge-1', '--data-dir', '/tmp/x', '--table', 't'], 'one of them'],
    [['retire-cluster', 'aws:ecs', '--table', 't'], "invalid cluster name 'aws:ecs'"],
  ])('exits 2 on %j', async (args, text) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(text);
  });
});
