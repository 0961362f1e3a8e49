import { isIP } from 'node:net';
import { JanitorError } from '../core/errors';
import type { Log } from '../handlers/http-api';
import { type RunningJanitor, startServe } from './serve';

export interface ServeFlags {
  readonly port?: string;
  readonly host?: string;
  readonly dataDir?: string;
  readonly config?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Human-readable log lines on stderr: time, level, message, details. Never given a secret. */
export const consoleLog: Log = {
  info: (message, extra) => write('info', message, extra),
  warn: (message, extra) => write('warn', message, extra),
  error: (message, extra) => write('error', message, extra),
};

function write(level: string, message: string, extra?: Record<string, unknown>): void {
  process.stderr.write(
    `${new Date().toISOString()} ${level} ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}\n`,
  );
}

/**
 * `registry-janitor serve`: runs until SIGINT/SIGTERM, then finishes running deletions, closes the
 * database and exits 0 (a second signal exits at once). Returns the exit code when it cannot start.
 */
export async function serveCommand(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const port = Number(flags.port ?? '8787');
  if (!/^\d{1,5}$/.test(flags.port ?? '8787') || port > 65535) {
    process.stderr.write(`registry-janitor serve: --port expects a port number, got '${flags.port}'\n`);
    return 2;
  }
  const host = flags.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    if (isIP(host) === 0 && host !== '0.0.0.0')
      consoleLog.warn(`--host ${host} is not an IP address; binding may fail`);
    consoleLog.warn(
      `--host ${host}: the dashboard and POST /v1/scans are reachable from the network without a password; both leave out review links (they are in the outbox digests)`,
    );
  }
  const dataDir = flags.dataDir ?? '.janitor';
  let janitor: RunningJanitor;
  try {
    janitor = await startServe({
      port,
      host,
      dataDir,
      ...(flags.config === undefined ? {} : { configFile: flags.config }),
      env,
      print: (text) => process.stdout.write(text),
      log: consoleLog,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      process.stderr.write(`registry-janitor serve: port ${port} on ${host} is in use; pass --port\n`);
      return 2;
    }
    process.stderr.write(
      `registry-janitor serve: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return error instanceof JanitorError ? 2 : 1;
  }
  process.stdout.write(
    [
      `registry-janitor is running: dashboard at ${janitor.url}/ (data in ${dataDir})`,
      `  scan now:          curl -X POST '${janitor.url}/v1/scans?wait=true'`,
      `  reporters post to: ${janitor.url}/v1/sightings`,
      `  a cluster's key:   npx registry-janitor cluster-key CLUSTER --data-dir ${dataDir}`,
      '',
    ].join('\n'),
  );
  await untilStopped(janitor);
  return 0;
}

function untilStopped(janitor: RunningJanitor): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${signal} again: exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      consoleLog.info(`${signal}: finishing running scans and deletions, then stopping`);
      janitor.close().then(resolve, (error: unknown) => {
        consoleLog.error('stopping failed', { error: String(error) });
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
