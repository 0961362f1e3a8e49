import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoSightingStore } from '../adapters/dynamo-sighting-store';
import { clusterReportSchema } from '../core/report';
import { ago } from '../core/time-text';
import { lockDataDir } from '../local/data-dir';
import { SERVE_TABLE, startDatabase } from '../local/serve';

export interface RetireClusterFlags {
  /** A `serve` data dir, its embedded database (serve must be stopped). */
  readonly dataDir?: string;
  /** The deployed stack's DynamoDB table (named in its `RetireClusterCommand` output), through the AWS SDK's chain. */
  readonly table?: string;
}

/** How long a cluster must have been silent before it may be retired. */
const MIN_SILENCE_MS = 3_600_000;

/**
 * `registry-janitor retire-cluster CLUSTER`: forgets a cluster that is gone for good (its
 * heartbeat and sightings), so that its silence no longer blocks deletions in the repositories it
 * reported from. Refused for a cluster that reported within the hour: its sightings protect what
 * it runs, and retiring it would drop them. Returns the exit code: 0 done, 1 no such cluster or
 * the database failed, 2 usage (a cluster still reporting included).
 */
export async function retireClusterCommand(
  cluster: string,
  flags: RetireClusterFlags,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  printError: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  now: () => Date = () => new Date(),
): Promise<number> {
  const fail = (code: number, text: string) => {
    printError(`registry-janitor retire-cluster: ${text}`);
    return code;
  };
  const name = clusterReportSchema.shape.cluster.safeParse(cluster);
  if (!name.success) return fail(2, `invalid cluster name '${cluster}': ${name.error.issues[0]?.message}`);
  if ((flags.dataDir === undefined) === (flags.table === undefined)) {
    return fail(2, 'pass --data-dir of a stopped serve, or --table of a deployed stack (one of them)');
  }
  if (flags.dataDir !== undefined && !existsSync(join(flags.dataDir, 'dynamodb'))) {
    return fail(2, `${flags.dataDir} holds no serve database (${join(flags.dataDir, 'dynamodb')})`);
  }
  let lock: { release(): void } | undefined;
  let database: Awaited<ReturnType<typeof startDatabase>> | undefined;
  try {
    let store: DynamoSightingStore;
    if (flags.dataDir !== undefined) {
      try {
        lock = lockDataDir(flags.dataDir);
      } catch (error) {
        return fail(2, (error as Error).message);
      }
      database = await startDatabase(join(flags.dataDir, 'dynamodb'));
      store = new DynamoSightingStore({ client: database.documents, tableName: SERVE_TABLE });
    } else {
      const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
      store = new DynamoSightingStore({ client: documents, tableName: flags.table! });
    }
    const reports = await store.clusterReports();
    const report = reports.find((known) => known.cluster === cluster);
    if (!report) {
      const known = reports.map((other) => other.cluster).sort();
      return fail(
        1,
        `no cluster '${cluster}' has reported here${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
    // Any body counts: a cluster whose reports arrive in part is not silent.
    const lastHeard = report.lastPartAt ?? report.lastReportAt;
    const silentMs = now().getTime() - lastHeard.getTime();
    if (silentMs < MIN_SILENCE_MS) {
      // A cluster that reports blocks nothing; its sightings protect what it runs.
      return fail(
        2,
        `${cluster} reported ${ago(lastHeard, now())}: remove its reporter first, and retire it once it has been silent for an hour`,
      );
    }
    const retired = await store.retireCluster(cluster);
    print(
      `retired ${cluster}: its heartbeat and ${retired.sightings} sightings deleted; its silence no longer blocks ${retired.repositories} repositories`,
    );
    return 0;
  } catch (error) {
    return fail(1, error instanceof Error ? error.message : String(error));
  } finally {
    await database?.close();
    lock?.release();
  }
}
