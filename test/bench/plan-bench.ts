/**
 * The planning benchmark, run in its own process so that its memory can be measured:
 *   node --expose-gc --import tsx test/bench/plan-bench.ts
 * Generates the input (not timed), then times `planCleanup` alone while a worker thread samples
 * the process RSS every millisecond and V8's GC profiler records the heap before every collection.
 * Prints one JSON line (`PlanBenchResult`) on stdout.
 */
import { performance } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { planCleanup } from '../../lambdas/core/plan';
import { generatePlanInput, type PlanInput } from './plan-input';

export interface PlanBenchResult {
  readonly images: number;
  readonly repositories: number;
  readonly sightings: number;
  readonly counts: PlanInput['counts'];
  readonly generateMs: number;
  readonly planMs: number;
  /** A second run on the same input, JIT warm (information only; with BENCH_WARM=1). */
  readonly warmPlanMs?: number;
  readonly items: number;
  readonly deleteCandidates: number;
  /** RSS before the input was generated (node + tsx + modules). */
  readonly startRssBytes: number;
  /** RSS with the input in memory, after a full GC, just before planning. */
  readonly baselineRssBytes: number;
  /** Highest RSS sampled while planning. */
  readonly planPeakRssBytes: number;
  /** `process.resourceUsage().maxRSS` at the end of the first run: the whole process's peak. */
  readonly processPeakRssBytes: number;
  readonly baselineHeapUsedBytes: number;
  /** Highest heap use seen during planning (before any GC, or at its end). */
  readonly planPeakHeapUsedBytes: number;
  /** Heap still used by the plan after a full GC. */
  readonly retainedHeapBytes: number;
  readonly gcCount: number;
  readonly gcMs: number;
}

const SAMPLER = `
const { workerData } = require('node:worker_threads');
const peak = new Float64Array(workerData, 0, 1);
const control = new Int32Array(workerData, 8, 2);
Atomics.store(control, 1, 1);
Atomics.notify(control, 1);
while (Atomics.load(control, 0) === 0) {
  const rss = process.memoryUsage.rss();
  if (rss > peak[0]) peak[0] = rss;
  Atomics.wait(control, 0, 0, 1);
}
`;

/** Samples the process RSS from another thread (the main thread is busy planning). */
function startRssSampler(): { peak: () => number; reset: () => void; stop: () => Promise<void> } {
  const shared = new SharedArrayBuffer(16);
  const peak = new Float64Array(shared, 0, 1);
  const control = new Int32Array(shared, 8, 2);
  const worker = new Worker(SAMPLER, { eval: true, workerData: shared });
  while (Atomics.load(control, 1) === 0) Atomics.wait(control, 1, 0, 10);
  return {
    peak: () => peak[0]!,
    reset: () => {
      peak[0] = process.memoryUsage.rss();
    },
    stop: async () => {
      Atomics.store(control, 0, 1);
      Atomics.notify(control, 0);
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
}

async function main(): Promise<void> {
  const startRssBytes = process.memoryUsage.rss();
  const generated = performance.now();
  let input: PlanInput | undefined = generatePlanInput();
  const generateMs = performance.now() - generated;
  const { counts } = input;
  const sampler = startRssSampler();
  fullGc();
  const baseline = process.memoryUsage();
  sampler.reset();
  const profiler = new GCProfiler();
  profiler.start();
  const started = performance.now();
  let plan: ReturnType<typeof planCleanup> | undefined = planCleanup(input);
  const planMs = performance.now() - started;
  const atEnd = process.memoryUsage();
  const gcs = profiler.stop().statistics;
  const planPeakRssBytes = Math.max(sampler.peak(), atEnd.rss);
  const processPeakRssBytes = process.resourceUsage().maxRSS * 1024;
  await sampler.stop();
  const planPeakHeapUsedBytes = Math.max(
    atEnd.heapUsed,
    ...gcs.map((gc) => gc.beforeGC.heapStatistics.usedHeapSize),
  );
  let items = 0;
  let deleteCandidates = 0;
  for (const repository of plan.repositories) {
    for (const item of repository.items) {
      items += 1;
      if (item.decision === 'delete') deleteCandidates += 1;
    }
  }
  fullGc();
  const retainedHeapBytes = process.memoryUsage().heapUsed - baseline.heapUsed;
  // Read the plan after that GC, so that it was alive (and counted) during it.
  if (plan.repositories.length !== input.repositories.length) throw new Error('plan lost repositories');
  plan = undefined;
  let warmPlanMs: number | undefined;
  if (process.env.BENCH_WARM === '1') {
    fullGc();
    const warmStarted = performance.now();
    plan = planCleanup(input);
    warmPlanMs = performance.now() - warmStarted;
  }
  const result: PlanBenchResult = {
    images: counts.images,
    repositories: input.repositories.length,
    sightings: input.sightings.length,
    counts,
    generateMs,
    planMs,
    ...(warmPlanMs === undefined ? {} : { warmPlanMs }),
    items,
    deleteCandidates,
    startRssBytes,
    baselineRssBytes: baseline.rss,
    planPeakRssBytes,
    processPeakRssBytes,
    baselineHeapUsedBytes: baseline.heapUsed,
    planPeakHeapUsedBytes,
    retainedHeapBytes,
    gcCount: gcs.length,
    gcMs: gcs.reduce((sum, gc) => sum + gc.cost, 0) / 1000,
  };
  plan = undefined;
  input = undefined;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `plan bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
  );
  process.exitCode = 1;
});
