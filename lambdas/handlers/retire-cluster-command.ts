import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoSightingStore } from '../adapters/dynamo-sighting-store';
import { clusterReportSchema } from '../core/report';
import { lockDataDir } from '../local/data-dir';
import { SERVE_TABLE, startDatabase } from '../local/serve';

export interface RetireClusterFlags {
  /** A `serve` data dir, its embedded database (serve must be stopped). */
  readonly dataDir?: string;
  /** The deployed stack's DynamoDB table (its `TableName` output), through the AWS SDK's chain. */
  readonly table?: string;
}

/**
 * `registry-janitor retire-cluster CLUSTER`: forgets a cluster that is gone for good (its
 * heartbeat and sightings), so that its silence no longer blocks deletions in the repositories it
 * reported from. Returns the exit code: 0 done, 1 no such cluster or the database failed, 2 usage.
 */
export async function retireClusterCommand(
  cluster: string,
  flags: RetireClusterFlags,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  printError: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
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
  let lock: { release(): void } | undefined;
  let database: Awaited<ReturnType<typeof startDatabase>> | undefined;
  try {
    let store: DynamoSightingStore;
    if (flags.dataDir !== undefined) {
      try {
        lock = lockDataDir(flags.dataDir);
      } catch (error) {
        return fail(2, `${(error as Error).message} (stop serve first)`);
      }
      database = await startDatabase(join(flags.dataDir, 'dynamodb'));
      store = new DynamoSightingStore({ client: database.documents, tableName: SERVE_TABLE });
    } else {
      const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
      store = new DynamoSightingStore({ client: documents, tableName: flags.table! });
    }
    const retired = await store.retireCluster(cluster);
    if (!retired) {
      const known = (await store.clusterReports()).map((report) => report.cluster).sort();
      return fail(
        1,
        `no cluster '${cluster}' has reported here${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
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
