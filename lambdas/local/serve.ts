import { randomBytes } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Cron } from 'croner';
import dynalite from 'dynalite';
import { hmacSha256Hex } from '../adapters/crypto';
import { DynamoPlanStore } from '../adapters/dynamo-plan-store';
import { DynamoSightingStore } from '../adapters/dynamo-sighting-store';
import { ensureTable } from '../adapters/dynamo-table';
import type { ScanTask } from '../core/ports-scan';
import { applyApproval, type DeleteDeps } from '../handlers/delete';
import type { Log } from '../handlers/http-api';
import type { IngestDeps } from '../handlers/ingest';
import type { ReviewDeps } from '../handlers/review';
import { reuseRecent, type ScanDeps, scanRepository, USAGE_REUSE_MS } from '../handlers/scan';
import { loadSecrets, lockDataDir } from './data-dir';
import { startHttpServer } from './http-server';
import { InProcessScanQueue } from './in-process-queue';
import { localRegistry } from './local-registry';
import { OutboxNotifier } from './outbox';
import { loadServeConfig } from './serve-config';
import { localRoutes } from './serve-routes';

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly configFile?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where digests and notices are printed. */
  readonly print: (text: string) => void;
  readonly log: Log;
}

export interface RunningJanitor {
  readonly url: string;
  /** Stops taking requests and scans, finishes running deletions, closes the database. */
  close(): Promise<void>;
}

/** The table of serve's embedded database. */
export const SERVE_TABLE = 'registry-janitor';

/**
 * The base URL of the links serve writes (review links in digests and answers). Bound to every
 * address (`0.0.0.0`, `::`), its own URL names no host a browser can open; the loopback address
 * works on this machine and through an SSH tunnel (`ssh -L 8787:127.0.0.1:8787`), which is how an
 * outbox digest on a server is read.
 */
export function linkBaseUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === '0.0.0.0') parsed.hostname = '127.0.0.1';
  else if (parsed.hostname === '[::]') parsed.hostname = '[::1]';
  return parsed.origin;
}

/**
 * The whole janitor on one machine: the same handlers as in AWS behind one HTTP server, DynamoDB
 * embedded (dynalite, persisted under the data dir), scans on the configured schedule through an
 * in-process fan-out, digests in `<dataDir>/outbox/`, deletions in process.
 */
export async function startServe(options: ServeOptions): Promise<RunningJanitor> {
  const config = loadServeConfig(options.configFile);
  const lock = lockDataDir(options.dataDir);
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  try {
    const secrets = loadSecrets(options.dataDir, options.env);
    const database = await startDatabase(join(options.dataDir, 'dynamodb'));
    cleanups.unshift(database.close);
    const plans = new DynamoPlanStore({ client: database.documents, tableName: SERVE_TABLE });
    const sightings = new DynamoSightingStore({ client: database.documents, tableName: SERVE_TABLE });
    const { registry, usage } = await localRegistry(config.registry, config.awsUsage, options.env);
    const now = () => new Date();
    const { log } = options;
    const deleteDeps: DeleteDeps = {
      registry,
      sightings,
      plans,
      config: config.scan,
      ...(usage ? { usage } : {}),
      now,
      log,
    };
    /** Deletions running, by plan: a plan is never deleted by two runs at once. */
    const deletions = new Map<string, Promise<void>>();
    /** Scheduled scans running (a scan may start a deletion again): awaited when serve stops. */
    const scans = new Set<Promise<void>>();
    let closing = false;
    let scanDeps: ScanDeps | undefined;
    const queue = new InProcessScanQueue((task: ScanTask) => scanRepository(task, scanDeps!), {
      onDeadLetter: (task, error) =>
        log.error('scan task failed every attempt: its plan stays incomplete, nothing in it is deleted', {
          planId: task.planId,
          repository: task.repository,
          error,
        }),
    });
    const server = await startHttpServer([], { host: options.host, port: options.port });
    const baseUrl = linkBaseUrl(server.url);
    const startDeletion = async (planId: string) => {
      if (closing) throw new Error('serve is stopping');
      if (deletions.has(planId)) return;
      const running = applyApproval(planId, deleteDeps)
        .catch((error: unknown) => log.error('deletion failed', { planId, error: String(error) }))
        .finally(() => deletions.delete(planId));
      deletions.set(planId, running);
    };
    scanDeps = {
      registry,
      sightings,
      plans,
      queue,
      notifier: new OutboxNotifier(options.dataDir, options.print),
      config: config.scan,
      policyHash: config.policyHash,
      linkSecret: async () => secrets.linkSecret,
      hmac: hmacSha256Hex,
      reviewBaseUrl: baseUrl,
      ...(usage ? { usage: reuseRecent(usage, USAGE_REUSE_MS) } : {}),
      // A deletion cut short (serve stopped or crashed) is started again by the next scan.
      resumeDeletion: startDeletion,
      now,
      log,
    };
    const reviewDeps: ReviewDeps = {
      plans,
      linkSecret: async () => secrets.linkSecret,
      hmac: hmacSha256Hex,
      startDeletion,
      outcomeWaitMs: 10_000,
      now,
      log,
    };
    const ingestDeps: IngestDeps = {
      store: sightings,
      ingestSecret: async () => secrets.ingestSecret,
      now,
      hmac: hmacSha256Hex,
      log,
    };
    const cron = new Cron(config.schedule, { timezone: 'UTC', protect: true }, async () => {
      // A scan's tasks run after its start returns: never pile a second scan on one still running.
      if (queue.busy) {
        log.warn('scheduled scan skipped: the previous scan is still running');
        return;
      }
      const scanning = routes
        .scan(new Date())
        .then(() => undefined)
        .catch((error: unknown) => log.error('scheduled scan failed', { error: String(error) }))
        .finally(() => scans.delete(scanning));
      scans.add(scanning);
      await scanning;
    });
    const loopback = ['127.0.0.1', '::1', 'localhost'].includes(options.host);
    const routes = localRoutes({
      showReviewLinks: loopback,
      baseUrl,
      registry,
      config,
      scanDeps,
      reviewDeps,
      ingestDeps,
      queue,
      cron,
      linkSecret: secrets.linkSecret,
      plans,
      sightings,
    });
    server.setRoutes(routes.list);
    cleanups.unshift(async () => {
      // No deletion starts from here on; the ones running, and the scans, are let finish.
      closing = true;
      cron.stop();
      await server.close();
      await Promise.all([...scans]);
      await queue.drained();
      while (deletions.size > 0) await Promise.all([...deletions.values()]);
    });
    return { url: server.url, close: () => runCleanups(cleanups) };
  } catch (error) {
    await runCleanups(cleanups);
    throw error;
  }
}

async function runCleanups(cleanups: readonly (() => Promise<void> | void)[]): Promise<void> {
  for (const cleanup of cleanups) await cleanup();
}

/**
 * The embedded DynamoDB of `serve`: dynalite with its LevelDB under `path`, the table created on
 * first start, reachable only by its own client.
 */
export async function startDatabase(
  path: string,
): Promise<{ documents: DynamoDBDocumentClient; endpoint: string; close(): Promise<void> }> {
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // dynalite checks no signature and answers any web page's CORS request: only this process's
  // client, signing with a key made now, may reach it (see `fromJanitor`).
  const key = `janitor${randomBytes(16).toString('hex')}`;
  const [handle] = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  let port = 0;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (fromJanitor(request, key, port)) handle!(request, response);
    else response.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'local',
    credentials: { accessKeyId: key, secretAccessKey: 'local' },
  });
  await ensureTable(client, SERVE_TABLE);
  return {
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A request of `serve`'s own DynamoDB client: a POST to `127.0.0.1:<port>` (not a name rebound to
 * it), with no `Origin` (browsers send one with every cross-origin request and every POST), signed
 * with the key made at start. Anything else, a web page's included, is refused.
 */
function fromJanitor(request: IncomingMessage, key: string, port: number): boolean {
  const { headers } = request;
  return (
    request.method === 'POST' &&
    headers.origin === undefined &&
    headers.host === `127.0.0.1:${port}` &&
    (headers.authorization ?? '').includes(`Credential=${key}/`)
  );
}
