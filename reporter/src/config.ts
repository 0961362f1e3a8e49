/**
 * The reporter's configuration: flags and `JANITOR_*` environment variables, checked before
 * anything is listed or sent. Every problem is a `ReporterConfigError` naming the flag or
 * variable (exit code 2).
 */
import { ReporterConfigError } from './errors';

/** The `report` flags as commander hands them over. */
export interface ReportFlags {
  readonly once?: boolean;
  readonly interval?: string;
  readonly deadline?: string;
  readonly dryRun?: boolean;
}

/** Where and how bodies are sent; absent with `--dry-run`. */
export interface IngestTarget {
  /** `JANITOR_ENDPOINT` + `/v1/sightings`, the endpoint's own path kept. */
  readonly url: URL;
  /** The cluster key: 64 lowercase hex characters, used as ASCII bytes. */
  readonly key: string;
}

export interface ReporterConfig {
  readonly cluster: string;
  readonly once: boolean;
  readonly dryRun: boolean;
  readonly intervalMs: number;
  /** `--deadline`: how long one round (list and send) may take before it gives up. */
  readonly deadlineMs?: number;
  readonly ingest?: IngestTarget;
}

/**
 * Cluster names as the ingest body allows them (`clusterReportSchema.shape.cluster`; a test keeps
 * the two in step). Repeated here so that the reporter bundle does not carry zod.
 */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const CLUSTER_NAME_MAX = 128;
const CLUSTER_KEY = /^[0-9a-f]{64}$/;
const INTERVAL = /^(\d{1,6})(s|m|h)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;
/**
 * The longest a Node timer waits (2^31 - 1 ms, about 596 hours): a longer delay is silently
 * turned into 1 ms, which would report back to back or give every round up at once.
 */
const MAX_TIMER_MS = 2_147_483_647;

/** True when `name` is a valid `JANITOR_CLUSTER` (`aws:...` names the janitor's own ECS and Lambda readings). */
export function isClusterName(name: string): boolean {
  return name.length <= CLUSTER_NAME_MAX && CLUSTER_NAME.test(name) && !name.toLowerCase().startsWith('aws:');
}

/**
 * Parses `--interval` (or another duration `flag`): a positive whole number of seconds, minutes
 * or hours, at most 596h (35791m), the longest a Node timer waits.
 *
 * @example
 * parseInterval('5m') // 300000
 */
export function parseInterval(value: string, flag = '--interval'): number {
  const match = INTERVAL.exec(value.trim());
  const amount = Number(match?.[1] ?? 0);
  if (!match || amount === 0) {
    throw new ReporterConfigError(`${flag} expects a duration like 30s, 5m or 1h, got '${value}'`);
  }
  const ms = amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms > MAX_TIMER_MS) {
    const longest = `${Math.floor(MAX_TIMER_MS / UNIT_MS.h)}h (${Math.floor(MAX_TIMER_MS / UNIT_MS.m)}m)`;
    throw new ReporterConfigError(
      `${flag} may be at most ${longest}, as long as Node's timers wait, got '${value}'`,
    );
  }
  return ms;
}

/**
 * The ingest URL for `JANITOR_ENDPOINT`: its path is kept (an API Gateway stage), then
 * `/v1/sightings` is appended.
 *
 * @example
 * sightingsUrl('https://x.execute-api.eu-west-1.amazonaws.com/prod').href
 * // 'https://x.execute-api.eu-west-1.amazonaws.com/prod/v1/sightings'
 */
export function sightingsUrl(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new ReporterConfigError(`JANITOR_ENDPOINT is not a URL: '${endpoint}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ReporterConfigError(`JANITOR_ENDPOINT must be an http(s) URL, got '${url.protocol}'`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ReporterConfigError(
      'JANITOR_ENDPOINT must be a base URL without query, fragment or credentials',
    );
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/sightings`;
  return url;
}

function required(env: NodeJS.ProcessEnv, name: string, hint: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new ReporterConfigError(`${name} is not set: ${hint}`);
  return value;
}

function ingestTarget(env: NodeJS.ProcessEnv): IngestTarget {
  const url = sightingsUrl(
    required(
      env,
      'JANITOR_ENDPOINT',
      'the base URL of the ingest API, e.g. https://x.execute-api.eu-west-1.amazonaws.com/prod',
    ),
  );
  const key = required(env, 'JANITOR_CLUSTER_KEY', 'print it with `registry-janitor cluster-key CLUSTER`');
  if (!CLUSTER_KEY.test(key)) {
    throw new ReporterConfigError(
      `JANITOR_CLUSTER_KEY must be 64 lowercase hex characters (the output of \`registry-janitor cluster-key CLUSTER\`), got ${key.length} characters`,
    );
  }
  return { url, key };
}

/** Reads and checks the flags and environment; throws `ReporterConfigError` naming what is wrong. */
export function readReporterConfig(flags: ReportFlags, env: NodeJS.ProcessEnv): ReporterConfig {
  const intervalMs = parseInterval(flags.interval ?? '5m');
  const deadlineMs = flags.deadline === undefined ? undefined : parseInterval(flags.deadline, '--deadline');
  const cluster = required(env, 'JANITOR_CLUSTER', 'the name this cluster reports under, e.g. prod-eu');
  if (!isClusterName(cluster)) {
    throw new ReporterConfigError(
      `JANITOR_CLUSTER '${cluster}' is invalid: at most 128 letters, digits and . _ : -, starting with a letter or digit`,
    );
  }
  const dryRun = flags.dryRun === true;
  return {
    cluster,
    dryRun,
    once: dryRun || flags.once === true,
    intervalMs,
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
    ...(dryRun ? {} : { ingest: ingestTarget(env) }),
  };
}
