/**
 * `registry-janitor report [--once] [--interval 5m] [--deadline D] [--dry-run]`: list what the cluster runs, split
 * it into ingest bodies and send them signed. Exit codes (DESIGN.md): 0 every body got 202 (or was
 * printed, with `--dry-run`); 1 a list or a body failed; 2 bad flags or environment.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { messageOf, UsageError } from '../../lambdas/core/errors';
import { readableEntries, splitIntoBodies } from './bodies';
import { collectImages, describeCollected } from './collect';
import { type IngestTarget, type ReporterConfig, type ReportFlags, readReporterConfig } from './config';
import { kubeLister } from './kube-api';
import { connectToKubernetes, type KubeConnection } from './kube-connection';
import { type RetryPolicy, reasonOf } from './retry';
import { sendBody } from './send';

export interface ReportDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
  /** Receives the `--dry-run` JSON. */
  readonly stdout: (text: string) => void;
  /** One progress or error line (no newline). */
  readonly stderr: (line: string) => void;
  /** Stops the loop (without `--once`); by default SIGTERM and SIGINT do. */
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  readonly retry?: RetryPolicy;
  readonly connect?: () => Promise<KubeConnection>;
}

const PREFIX = 'registry-janitor report: ';

function processDeps(): ReportDeps {
  return {
    env: process.env,
    now: () => new Date(),
    stdout: (text) => process.stdout.write(text),
    stderr: (line) => process.stderr.write(`${PREFIX}${line}\n`),
  };
}

/** Runs `report` from its flags; returns the exit code. */
export async function reportCommand(flags: ReportFlags, deps: ReportDeps = processDeps()): Promise<number> {
  let config: ReporterConfig;
  let connection: KubeConnection;
  try {
    config = readReporterConfig(flags, deps.env);
    connection = await (deps.connect ?? (() => connectToKubernetes({ env: deps.env })))();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    deps.stderr(error.message);
    return 2;
  }
  deps.stderr(`cluster ${config.cluster}, Kubernetes API ${connection.server.origin} (${connection.source})`);
  if (config.once) return reportOnce(config, connection, deps);
  return reportEvery(config, connection, deps);
}

/** One report: list, split, then print (`--dry-run`) or send every body. */
export async function reportOnce(
  config: ReporterConfig,
  connection: KubeConnection,
  deps: ReportDeps,
): Promise<number> {
  const round = roundDeadline(config.deadlineMs);
  try {
    return await reportRound(config, connection, deps, round.signal);
  } finally {
    round.release();
  }
}

/**
 * A round's deadline: aborted `deadlineMs` after the round starts, with a reason that names it;
 * `release` stops its timer. Without `deadlineMs`, a signal that never aborts.
 */
function roundDeadline(deadlineMs: number | undefined): { signal?: AbortSignal; release: () => void } {
  if (deadlineMs === undefined) return { release: () => {} };
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`the round's deadline (--deadline ${deadlineMs / 1000} s) passed`)),
    deadlineMs,
  );
  return { signal: controller.signal, release: () => clearTimeout(timer) };
}

async function reportRound(
  config: ReporterConfig,
  connection: KubeConnection,
  deps: ReportDeps,
  deadline: AbortSignal | undefined,
): Promise<number> {
  const observedAt = deps.now();
  const log = deps.stderr;
  let bodies: string[];
  try {
    const collected = await collectImages(
      kubeLister(connection, {
        log,
        ...(deps.retry ? { retry: deps.retry } : {}),
        ...(deadline ? { deadline } : {}),
      }),
    );
    log(`listed ${describeCollected(collected)}`);
    const { entries, problems } = readableEntries(collected.entries);
    for (const problem of problems.slice(0, MAX_PROBLEMS_LOGGED)) log(problem);
    if (problems.length > MAX_PROBLEMS_LOGGED)
      log(
        `and ${problems.length - MAX_PROBLEMS_LOGGED} more entries with an image too long to be a reference`,
      );
    bodies = splitIntoBodies(entries, { cluster: config.cluster, observedAt });
  } catch (error) {
    log(`${messageOf(error)}; nothing was sent (the cluster's previous report stands)`);
    return 1;
  }
  if (config.dryRun || config.ingest === undefined) {
    deps.stdout(`[${bodies.join(',')}]\n`);
    return 0;
  }
  return sendAll(bodies, config.ingest, deps, deadline);
}

/** Entries with an unreadable image named one by one in the log, at most. */
const MAX_PROBLEMS_LOGGED = 10;

async function sendAll(
  bodies: readonly string[],
  target: IngestTarget,
  deps: ReportDeps,
  deadline: AbortSignal | undefined,
): Promise<number> {
  let failed = 0;
  for (const [index, body] of bodies.entries()) {
    const which = `body ${index + 1}/${bodies.length} (${Buffer.byteLength(body)} bytes)`;
    if (deadline?.aborted) {
      failed++;
      deps.stderr(`${which} not sent: ${reasonOf(deadline)}`);
      continue;
    }
    try {
      const delivery = await sendBody(body, target, {
        now: deps.now,
        log: deps.stderr,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        ...(deps.retry ? { retry: deps.retry } : {}),
        ...(deadline ? { deadline } : {}),
      });
      deps.stderr(`sent ${which}: accepted ${delivery.accepted ?? '?'}, ignored ${delivery.ignored ?? '?'}`);
    } catch (error) {
      failed++;
      deps.stderr(`${which} not delivered: ${messageOf(error)}`);
    }
  }
  if (failed > 0) deps.stderr(`${failed} of ${bodies.length} bodies were not delivered`);
  return failed > 0 ? 1 : 0;
}

/** Reports every `intervalMs` until the signal; a failed round is logged and the next one runs. */
async function reportEvery(
  config: ReporterConfig,
  connection: KubeConnection,
  deps: ReportDeps,
): Promise<number> {
  const { signal, release } = stopSignal(deps);
  try {
    while (!signal.aborted) {
      const started = deps.now().getTime();
      await reportOnce(config, connection, deps).catch((error: unknown) => deps.stderr(messageOf(error)));
      const waitMs = Math.max(0, config.intervalMs - (deps.now().getTime() - started));
      await sleepMs(waitMs, undefined, { signal }).catch(() => {});
    }
    deps.stderr('stopped');
    return 0;
  } finally {
    release();
  }
}

function stopSignal(deps: ReportDeps): { signal: AbortSignal; release: () => void } {
  if (deps.signal) return { signal: deps.signal, release: () => {} };
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    },
  };
}
