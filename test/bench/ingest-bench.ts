/**
 * Issue figures for the sightings path: DynamoDB writes per report against one write per pod,
 * and the ingest handler's time per 1 MiB body (parse, verify, normalise).
 */
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { DynamoSightingStore } from '../../lambdas/adapters/dynamo-sighting-store';
import { silentLog } from '../../lambdas/adapters/log';
import type { Sighting } from '../../lambdas/core/model';
import { clusterKey, signatureHeader } from '../../lambdas/core/signature';
import { handleIngest, MAX_BODY_BYTES } from '../../lambdas/handlers/ingest';
import { startDynalite } from '../fixtures/dynalite';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const PODS = 2_000;
const IMAGES = 150;
const REPORTS_PER_DAY = (24 * 60) / 5;

export interface IngestBenchResult {
  readonly reports: number;
  readonly writes: number;
  readonly naiveWrites: number;
  readonly ratio: number;
  readonly msPerMiB: number;
  readonly entriesPerMiB: number;
}

function podSightings(observedAt: Date): Sighting[] {
  return Array.from({ length: PODS }, (_, pod) => {
    const image = pod % IMAGES;
    const digest = `sha256:${image.toString(16).padStart(64, '0')}`;
    return {
      cluster: 'prod',
      observedAt,
      ref: { registry: ECR, repository: `app-${image % 20}`, tag: `build-${image}`, digest },
    };
  });
}

/** A simulated day of a 2,000-pod, 150-image cluster reporting every 5 minutes. */
async function writesPerDay(): Promise<{ writes: number }> {
  const dynamo = await startDynalite();
  try {
    const store = new DynamoSightingStore({ client: dynamo.documents, tableName: await dynamo.newTable() });
    dynamo.resetCounts();
    const start = Date.parse('2026-11-22T00:00:00Z');
    for (let report = 0; report < REPORTS_PER_DAY; report++) {
      const observedAt = new Date(start + report * 5 * 60_000);
      await store.recordReport({ cluster: 'prod', observedAt, sightings: podSightings(observedAt) });
    }
    return { writes: dynamo.counts.get('UpdateItemCommand') ?? 0 };
  } finally {
    await dynamo.close();
  }
}

/** The handler on 1 MiB bodies with a store that does nothing: parse, verify, normalise. */
async function ingestTime(): Promise<{ msPerMiB: number; entries: number }> {
  const secret = 'bench-secret';
  const images: object[] = [];
  let body = '';
  for (let i = 0; body.length < MAX_BODY_BYTES - 400; i++) {
    images.push({
      image: `${ECR}/app-${i % 50}:build-${i}`,
      imageID: `docker-pullable://${ECR}/app-${i % 50}@sha256:${i.toString(16).padStart(64, '0')}`,
      namespace: 'shop',
      workload: `Deployment/app-${i % 50}`,
    });
    body = JSON.stringify({ cluster: 'prod', observedAt: new Date().toISOString(), images });
  }
  images.pop();
  body = JSON.stringify({ cluster: 'prod', observedAt: new Date().toISOString(), images });
  const key = clusterKey(hmacSha256Hex, secret, 'prod');
  const deps = {
    store: {
      recordReport: async () => ({ distinct: 0, written: 0, reported: true }),
      sightingsOf: async () => [],
      clusterReports: async () => [],
    },
    ingestSecret: async () => secret,
    now: () => new Date(),
    hmac: hmacSha256Hex,
    log: silentLog,
  };
  const times: number[] = [];
  for (let run = 0; run < 15; run++) {
    const event = {
      headers: {
        'content-type': 'application/json',
        'x-janitor-signature': signatureHeader(hmacSha256Hex, key, Math.floor(Date.now() / 1000), body),
      },
      body,
    };
    const start = process.hrtime.bigint();
    const result = await handleIngest(event, deps);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (result.statusCode !== 202) throw new Error(`ingest answered ${result.statusCode}: ${result.body}`);
  }
  times.sort((a, b) => a - b);
  return { msPerMiB: (times[7]! * MAX_BODY_BYTES) / Buffer.byteLength(body), entries: images.length };
}

export async function runIngestBench(): Promise<IngestBenchResult> {
  const { writes } = await writesPerDay();
  const { msPerMiB, entries } = await ingestTime();
  const naiveWrites = REPORTS_PER_DAY * PODS;
  return {
    reports: REPORTS_PER_DAY,
    writes,
    naiveWrites,
    ratio: naiveWrites / writes,
    msPerMiB,
    entriesPerMiB: entries,
  };
}

if (require.main === module) {
  void runIngestBench().then((result) => {
    console.log('Sightings: a 2,000-pod, 150-image cluster reporting every 5 minutes for a day');
    console.log(
      `  writes: ${result.writes} for ${result.reports} reports; one write per pod: ${result.naiveWrites}; ${result.ratio.toFixed(1)}× fewer (target ≥ 12×)  ${result.ratio >= 12 ? 'PASS' : 'MISS'}`,
    );
    console.log(
      `  ingest handler per 1 MiB body (${result.entriesPerMiB} entries): ${result.msPerMiB.toFixed(1)} ms median of 15 (target < 50 ms)  ${result.msPerMiB < 50 ? 'PASS' : 'MISS'}`,
    );
  });
}
