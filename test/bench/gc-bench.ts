/**
 * The `gc --dry-run` benchmark: the bundled CLI (`dist/cli.js`, a child process) against the ECR
 * fake (in this process) with a fixed latency per call, on one 10,000-image repository with 500
 * multi-arch families (an index and 2 platform children each). Counts the API calls by operation
 * and the wall time, and compares both with the least any lister needs. Then replays aws-ecr-gc's
 * way of listing (ListImages pages of 100, one DescribeImages per page) with the SDK, for comparison.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DescribeImagesCommand, ECRClient, ListImagesCommand } from '@aws-sdk/client-ecr';
import {
  type EcrFake,
  type EcrFakeCall,
  type EcrFakeCalls,
  manifestFor,
  startEcrFake,
} from '../fixtures/ecr-fake';
import { seededRandom } from './plan-input';

export interface GcBenchShape {
  readonly repository: string;
  readonly images: number;
  readonly families: number;
  readonly latencyMs: number;
  /** The adapter's BatchGetImage concurrency (`EcrRegistryOptions.concurrency`, default 4). */
  readonly concurrency: number;
}

export const GC_BENCH_SHAPE: GcBenchShape = {
  repository: 'bench',
  images: 10_000,
  families: 500,
  latencyMs: 20,
  concurrency: 4,
};

const DESCRIBE_PAGE = 1_000;
const BATCH_GET = 100;
const LIST_PAGE = 100;
const DAY_MS = 86_400_000;
const ROOT = resolve(__dirname, '../..');
const CLI = resolve(ROOT, 'dist/cli.js');

export type OperationCounts = Record<'DescribeImages' | 'BatchGetImage' | 'ListImages' | 'other', number>;

export interface GcBenchResult {
  readonly shape: GcBenchShape;
  readonly populateMs: number;
  readonly startupMs: number;
  readonly startupRunsMs: readonly number[];
  /** The median of a few `node -e 0`: node's own start-up, which the CLI's includes. */
  readonly nodeStartupMs: number;
  readonly wallMs: number;
  readonly exitCode: number | null;
  /** From the first request's arrival to the last one's answer (arrival + latency). */
  readonly apiWindowMs: number;
  /** Where the wall time went, on the fake's request log. */
  readonly phases: {
    /** Spawn to the first request: node start-up, bundle load, flags, SDK client. */
    readonly beforeFirstCallMs: number;
    /** First DescribeImages arrival to the last DescribeImages answer. */
    readonly describeMs: number;
    /** First BatchGetImage arrival to the last BatchGetImage answer. */
    readonly batchGetMs: number;
    /** Last answer to exit: planning, printing the report, exit. */
    readonly afterLastCallMs: number;
  };
  readonly calls: OperationCounts;
  readonly floorCalls: OperationCounts;
  /** Round trips that cannot overlap: describe pages one after another, then BatchGetImage rounds. */
  readonly floorRoundTrips: number;
  readonly floorApiMs: number;
  readonly totalImagesLine?: string;
  readonly toDelete?: number;
  readonly stderr: string;
  /**
   * The fake's own work (`EcrFakeCall.busyMs`: computing and writing answers), from the run's
   * request log: harness cost inside each call's gap, not the CLI's. For DescribeImages the sum
   * over the pages (they come one after another); for BatchGetImage, per round of `concurrency`
   * calls, the largest of the round (the least it adds, however the calls overlap).
   */
  readonly fakeAnswerMs: { readonly describe: number; readonly batchGet: number; readonly perPage: number };
  /** aws-ecr-gc's way of listing, replayed (unless `replayEcrGc` is false). */
  readonly ecrGc?: {
    /** Image ids ListImages returns (one per tag, one per untagged image). */
    readonly imageIds: number;
    readonly calls: OperationCounts;
    readonly wallMs: number;
  };
}

/** Fills the fake: `families` indexes with 2 children each, the rest single images; ~70% tagged build-N. */
function populate(fake: EcrFake, shape: GcBenchShape): void {
  const random = seededRandom(7);
  const now = Date.now();
  const singles = shape.images - shape.families * 3;
  const slots = [...Array(shape.families).fill('family'), ...Array(singles).fill('single')] as string[];
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  slots.forEach((slot, n) => {
    // Oldest first, one push every ~20 minutes over the last ~6 months.
    const pushedAt = new Date(now - 200 * DAY_MS + n * 20 * 60_000);
    const tags = random() < 0.7 ? [`build-${n}`] : [];
    if (slot === 'family') {
      fake.putMultiArch({ repository: shape.repository, seed: `family-${n}`, tags, pushedAt });
    } else {
      const manifest = manifestFor({ seed: `single-${n}` });
      fake.putImage({ repository: shape.repository, manifest, tags, pushedAt });
    }
  });
}

function countsOf(calls: EcrFakeCalls, before?: OperationCounts): OperationCounts {
  const other = calls.DescribeRepositories + calls.BatchDeleteImage;
  const now = {
    DescribeImages: calls.DescribeImages,
    BatchGetImage: calls.BatchGetImage,
    ListImages: calls.ListImages,
    other,
  };
  if (!before) return now;
  return {
    DescribeImages: now.DescribeImages - before.DescribeImages,
    BatchGetImage: now.BatchGetImage - before.BatchGetImage,
    ListImages: now.ListImages - before.ListImages,
    other: now.other - before.other,
  };
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** `Date.now()` at spawn and at exit, to place the fake's request log on the same clock. */
  readonly spawnedAtMs: number;
  readonly exitedAtMs: number;
}

/** Runs `node dist/cli.js ARGS` without blocking this process's event loop (the fake lives here). */
function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const spawnedAtMs = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', fail);
    child.once('close', (code) =>
      done({
        code,
        ms: performance.now() - started,
        spawnedAtMs,
        exitedAtMs: Date.now(),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** An environment with no AWS settings but the ones given (no profile, no shared files). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** The median of a few `node dist/cli.js --help` runs: the CLI's start-up (node + bundle load). */
async function measureStartup(runs = 5): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = await runCli(['--help'], cleanEnv({}));
    if (run.code !== 0) throw new Error(`node dist/cli.js --help exited ${run.code}: ${run.stderr}`);
    times.push(run.ms);
  }
  return times;
}

/** The median of a few `node -e 0` runs in the same environment: node's own start-up. */
async function measureNodeStartup(runs = 5): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await new Promise<void>((done, fail) => {
      const child = spawn(process.execPath, ['-e', '0'], { env: cleanEnv({}), stdio: 'ignore' });
      child.once('error', fail);
      child.once('close', () => done());
    });
    times.push(performance.now() - started);
  }
  return median(times);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** See `GcBenchResult.fakeAnswerMs`. */
function fakeAnswerTimes(log: readonly EcrFakeCall[], shape: GcBenchShape): GcBenchResult['fakeAnswerMs'] {
  const answerMs = (call: EcrFakeCall) => call.busyMs ?? 0;
  const pages = log.filter((call) => call.operation === 'DescribeImages').map(answerMs);
  const gets = log.filter((call) => call.operation === 'BatchGetImage').map(answerMs);
  let batchGet = 0;
  for (let i = 0; i < gets.length; i += shape.concurrency) {
    batchGet += Math.max(...gets.slice(i, i + shape.concurrency));
  }
  const describe = pages.reduce((sum, ms) => sum + ms, 0);
  return { describe, batchGet, perPage: pages.length > 0 ? describe / pages.length : 0 };
}

/** aws-ecr-gc's listing: ListImages pages of 100 image ids, each followed by DescribeImages of those ids. */
async function replayEcrGcListing(fake: EcrFake, repository: string): Promise<number> {
  // This process's own SDK client: keep the bench's output free of the SDK's Node 20 notice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const client = new ECRClient({
    endpoint: fake.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  let imageIds = 0;
  try {
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListImagesCommand({ repositoryName: repository, maxResults: LIST_PAGE, nextToken }),
      );
      const ids = page.imageIds ?? [];
      imageIds += ids.length;
      if (ids.length > 0)
        await client.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: ids }));
      nextToken = page.nextToken;
    } while (nextToken);
  } finally {
    client.destroy();
  }
  return imageIds;
}

/** One gc run's figures, from its process and the fake's request log of that run. */
function measuredRun(
  run: Run,
  seen: {
    readonly shape: GcBenchShape;
    readonly populateMs: number;
    readonly indexes: number;
    readonly startupRunsMs: number[];
    readonly nodeStartupMs: number;
    readonly calls: OperationCounts;
    readonly log: readonly EcrFakeCall[];
  },
): GcBenchResult {
  const { shape, log } = seen;
  const first = log[0]?.receivedAtMs ?? 0;
  const last = log[log.length - 1]?.receivedAtMs ?? 0;
  const windowOf = (operation: string) => {
    const times = log.filter((call) => call.operation === operation).map((call) => call.receivedAtMs);
    return times.length > 0 ? Math.max(...times) - Math.min(...times) + shape.latencyMs : 0;
  };
  const describePages = Math.ceil(shape.images / DESCRIBE_PAGE);
  const batchGets = Math.ceil(seen.indexes / BATCH_GET);
  const floorRoundTrips = describePages + Math.ceil(batchGets / shape.concurrency);
  const totalImagesLine = /^Total images in .*$/m.exec(run.stdout)?.[0];
  const toDelete = /^Images to delete \((\d+)\)/m.exec(run.stdout)?.[1];
  return {
    shape,
    populateMs: seen.populateMs,
    startupMs: median(seen.startupRunsMs),
    startupRunsMs: seen.startupRunsMs,
    nodeStartupMs: seen.nodeStartupMs,
    wallMs: run.ms,
    exitCode: run.code,
    apiWindowMs: log.length > 0 ? last - first + shape.latencyMs : 0,
    phases: {
      beforeFirstCallMs: log.length > 0 ? first - run.spawnedAtMs : run.ms,
      describeMs: windowOf('DescribeImages'),
      batchGetMs: windowOf('BatchGetImage'),
      afterLastCallMs: log.length > 0 ? run.exitedAtMs - (last + shape.latencyMs) : 0,
    },
    calls: seen.calls,
    floorCalls: { DescribeImages: describePages, BatchGetImage: batchGets, ListImages: 0, other: 0 },
    floorRoundTrips,
    floorApiMs: floorRoundTrips * shape.latencyMs,
    ...(totalImagesLine ? { totalImagesLine } : {}),
    ...(toDelete ? { toDelete: Number(toDelete) } : {}),
    stderr: run.stderr,
    fakeAnswerMs: fakeAnswerTimes(log, shape),
  };
}

/**
 * Runs `gc --dry-run` `runs` times against one fake, filled once; each run measures the CLI's
 * start-up (`--help`) just before, so that its floor and its wall time see the same machine.
 * aws-ecr-gc's listing is replayed once, after the runs, into the first result (unless
 * `replayEcrGc` is false).
 */
export async function runGcBench(
  shape: GcBenchShape = GC_BENCH_SHAPE,
  options: { readonly replayEcrGc?: boolean; readonly runs?: number } = {},
): Promise<GcBenchResult[]> {
  const fake = await startEcrFake({ latencyMs: shape.latencyMs });
  try {
    const populating = performance.now();
    populate(fake, shape);
    const populateMs = performance.now() - populating;
    const stored = fake.images(shape.repository);
    if (stored.length !== shape.images)
      throw new Error(`fake holds ${stored.length} images, not ${shape.images}`);
    const indexes = stored.filter((image) => image.childDigests.length > 0).length;
    const env = cleanEnv({
      AWS_ENDPOINT_URL_ECR: fake.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    });
    const results: GcBenchResult[] = [];
    for (let run = 0; run < Math.max(1, options.runs ?? 1); run++) {
      const startupRunsMs = await measureStartup();
      const nodeStartupMs = await measureNodeStartup();
      const before = countsOf(fake.calls);
      const logStart = fake.calls.log.length;
      results.push(
        measuredRun(
          await runCli(
            [
              'gc',
              '--repo',
              shape.repository,
              '--region',
              'us-east-1',
              '--dry-run',
              '--keep',
              'build=50',
              '--delete-untagged=true',
            ],
            env,
          ),
          {
            shape,
            populateMs,
            indexes,
            startupRunsMs,
            nodeStartupMs,
            calls: countsOf(fake.calls, before),
            log: fake.calls.log.slice(logStart),
          },
        ),
      );
    }
    if (options.replayEcrGc !== false) {
      const before = countsOf(fake.calls);
      const replaying = performance.now();
      const imageIds = await replayEcrGcListing(fake, shape.repository);
      const ecrGc = { imageIds, calls: countsOf(fake.calls, before), wallMs: performance.now() - replaying };
      results[0] = { ...results[0]!, ecrGc };
    }
    return results;
  } finally {
    await fake.close();
  }
}
