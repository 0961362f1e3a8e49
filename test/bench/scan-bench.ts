/**
 * Issue figures for the scheduled scan: 100 repositories × 1,000 images through the ECR fake at
 * 20 ms a call, fanned out in process (as `serve` does; SQS in AWS), against the API floor; and
 * writing a plan of 100,000 candidates to DynamoDB (dynalite): items per second and write units.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { DynamoPlanStore } from '../../lambdas/adapters/dynamo-plan-store';
import { DynamoSightingStore } from '../../lambdas/adapters/dynamo-sighting-store';
import { EcrRegistry } from '../../lambdas/adapters/ecr-registry';
import { silentLog } from '../../lambdas/adapters/log';
import { parseScanConfig } from '../../lambdas/core/scan-config';
import { type ScanDeps, scanRepository, startScan } from '../../lambdas/handlers/scan';
import { InProcessScanQueue } from '../../lambdas/local/in-process-queue';
import { manyCandidates } from '../fixtures/builders';
import { startDynalite } from '../fixtures/dynalite';
import { startEcrFake } from '../fixtures/ecr-fake';

const REPOSITORIES = 100;
const IMAGES = 1_000;
const LATENCY_MS = 20;
const CONCURRENCY = 4;

export interface ScanBenchResult {
  readonly wallMs: number;
  readonly floorMs: number;
  readonly calls: Readonly<Record<string, number>>;
  readonly floorCalls: number;
  readonly candidates: number;
  readonly writeItemsPerSecond: number;
  readonly writeUnitsPerCandidate: number;
}

async function scanWall(): Promise<
  Pick<ScanBenchResult, 'wallMs' | 'floorMs' | 'calls' | 'floorCalls' | 'candidates'>
> {
  const fake = await startEcrFake();
  const dynamo = await startDynalite();
  try {
    const day = 86_400_000;
    for (let r = 0; r < REPOSITORIES; r++) {
      for (let i = 0; i < IMAGES; i++) {
        fake.putImage({
          repository: `repo-${r}`,
          tags: [`build-${i}`],
          pushedAt: new Date(Date.now() - (10 + i) * day),
        });
      }
    }
    fake.setFaults({ latencyMs: LATENCY_MS });
    const tableName = await dynamo.newTable();
    const plans = new DynamoPlanStore({ client: dynamo.documents, tableName });
    let deps: ScanDeps;
    const queue = new InProcessScanQueue((task) => scanRepository(task, deps), { concurrency: CONCURRENCY });
    deps = {
      registry: new EcrRegistry({
        client: new ECRClient({
          endpoint: fake.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 't', secretAccessKey: 't' },
        }),
        region: 'us-east-1',
      }),
      sightings: new DynamoSightingStore({ client: dynamo.documents, tableName }),
      plans,
      queue,
      notifier: { publish: async () => undefined },
      config: parseScanConfig({ policy: { keep: ['build=20'], unusedTagged: false } }),
      policyHash: 'bench',
      linkSecret: async () => 'bench',
      hmac: hmacSha256Hex,
      reviewBaseUrl: 'http://127.0.0.1',
      now: () => new Date(),
      log: silentLog,
    };
    const start = process.hrtime.bigint();
    const started = await startScan({ scheduledAt: new Date() }, deps);
    await queue.drained();
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    const plan = await plans.getPlan(started.planId);
    const calls = {
      DescribeRepositories: fake.calls.DescribeRepositories,
      DescribeImages: fake.calls.DescribeImages,
      BatchGetImage: fake.calls.BatchGetImage,
    };
    const floorCalls = 1 + REPOSITORIES;
    return {
      wallMs,
      floorMs: LATENCY_MS + (REPOSITORIES / CONCURRENCY) * LATENCY_MS,
      calls,
      floorCalls,
      candidates: plan?.candidates ?? 0,
    };
  } finally {
    await dynamo.close();
    await fake.close();
  }
}

async function planWrite(): Promise<Pick<ScanBenchResult, 'writeItemsPerSecond' | 'writeUnitsPerCandidate'>> {
  const dynamo = await startDynalite();
  try {
    const plans = new DynamoPlanStore({ client: dynamo.documents, tableName: await dynamo.newTable() });
    const now = new Date();
    await plans.createPlan({
      id: 'bench',
      createdAt: now,
      totalRepositories: 1,
      linkExp: 0,
      policyHash: 'x',
    });
    const candidates = manyCandidates(100_000, now, 50_000_000);
    const summary = {
      repository: 'big',
      totalImages: 100_020,
      candidates: 100_000,
      candidateBytes: 5e12,
      topReasons: [],
      blockedBy: [],
    };
    const start = process.hrtime.bigint();
    await plans.putRepositoryPlan('bench', summary, candidates);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    // On-demand DynamoDB bills one write unit per KB of item written.
    const bytes = candidates.reduce(
      (total, item) => total + JSON.stringify({ ...item, pushedAt: item.pushedAt.toISOString() }).length + 1,
      0,
    );
    return {
      writeItemsPerSecond: candidates.length / seconds,
      writeUnitsPerCandidate: bytes / 1024 / candidates.length,
    };
  } finally {
    await dynamo.close();
  }
}

export async function runScanBench(): Promise<ScanBenchResult> {
  return { ...(await scanWall()), ...(await planWrite()) };
}

if (require.main === module) {
  void runScanBench().then((result) => {
    console.log(
      `Scan of ${REPOSITORIES} repositories × ${IMAGES} images, ECR fake at ${LATENCY_MS} ms a call, ${CONCURRENCY} repositories at a time`,
    );
    console.log(
      `  calls: ${JSON.stringify(result.calls)}; floor ${result.floorCalls} (1 DescribeRepositories + 1 page a repository)`,
    );
    console.log(
      `  wall: ${result.wallMs.toFixed(0)} ms; API floor ${result.floorMs.toFixed(0)} ms (${(result.wallMs / result.floorMs).toFixed(2)}×); ${result.candidates} candidates`,
    );
    console.log(
      `Plan of 100,000 candidates written to dynalite: ${result.writeItemsPerSecond.toFixed(0)} candidates/s, ${result.writeUnitsPerCandidate.toFixed(2)} write units a candidate`,
    );
  });
}
