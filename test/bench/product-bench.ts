/**
 * `npm run bench`, second part: the figures of the deployed product — sightings writes and ingest
 * time, the scheduled scan against its floor and the plan write, each Lambda bundle's size (built
 * as the construct builds it: esbuild, minified, Node.js 22), and the time of `cdk synth`.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { runIngestBench } from './ingest-bench';
import { runScanBench } from './scan-bench';

const ROOT = resolve(__dirname, '../..');
const KIB = 1024;
// The bench's own SDK clients (dynalite, the ECR fake): keep the SDK's Node 20 notice out of the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The functions of the construct and their entry files. */
const FUNCTIONS = [
  { name: 'ingest', entry: 'lambdas/handlers/ingest.ts', targetKiB: 300 },
  { name: 'scan (schedule + worker)', entry: 'lambdas/handlers/scan-lambda.ts', targetKiB: 1024 },
  { name: 'review', entry: 'lambdas/handlers/review.ts', targetKiB: 1024 },
  { name: 'deleter', entry: 'lambdas/handlers/delete.ts', targetKiB: 1024 },
];

const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS  <<<');

async function bundleSizes(): Promise<void> {
  console.log(
    '\n5. Lambda bundles (esbuild, minified, node22, AWS SDK and Powertools bundled, as the construct builds them)',
  );
  for (const fn of FUNCTIONS) {
    const result = await build({
      entryPoints: [resolve(ROOT, fn.entry)],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      write: false,
      mainFields: ['module', 'main'],
      logLevel: 'silent',
    });
    const bytes = result.outputFiles[0]!.contents.length;
    console.log(
      `  ${fn.name.padEnd(26)} ${(bytes / KIB).toFixed(0).padStart(5)} KiB  target < ${fn.targetKiB} KiB  ${verdict(bytes < fn.targetKiB * KIB)}`,
    );
  }
}

function synthTime(): void {
  const start = process.hrtime.bigint();
  execFileSync(
    'npx',
    ['cdk', 'synth', '-q', '-c', 'notifyEmail=ops@example.com', '-o', '/tmp/registry-janitor-bench-cdk.out'],
    {
      cwd: ROOT,
      stdio: 'ignore',
    },
  );
  console.log(
    `\n6. cdk synth (bundling every function, cdk-nag AwsSolutions): ${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`,
  );
}

async function main(): Promise<void> {
  const ingest = await runIngestBench();
  console.log(
    '\n3. Sightings: a 2,000-pod, 150-image cluster reporting every 5 minutes for a simulated day (dynalite)',
  );
  console.log(
    `  writes: ${ingest.writes} for ${ingest.reports} reports; one write per pod would be ${ingest.naiveWrites}: ${ingest.ratio.toFixed(1)}× fewer (target ≥ 12×)  ${verdict(ingest.ratio >= 12)}`,
  );
  console.log(
    `  ingest handler per 1 MiB body (${ingest.entriesPerMiB} entries: parse, verify, normalise): ${ingest.msPerMiB.toFixed(1)} ms, median of 15 (target < 50 ms)  ${verdict(ingest.msPerMiB < 50)}`,
  );
  const scan = await runScanBench();
  console.log(
    '\n4. Scheduled scan: 100 repositories × 1,000 images, ECR fake at 20 ms a call, 4 repositories at a time (in process, as serve)',
  );
  console.log(
    `  calls: ${Object.entries(scan.calls)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ')}; floor ${scan.floorCalls}`,
  );
  console.log(
    `  wall: ${scan.wallMs.toFixed(0)} ms against an API floor of ${scan.floorMs.toFixed(0)} ms (${(scan.wallMs / scan.floorMs).toFixed(2)}×); ${scan.candidates} candidates`,
  );
  console.log(
    `  plan of 100,000 candidates written to dynalite: ${scan.writeItemsPerSecond.toFixed(0)} candidates/s, ${scan.writeUnitsPerCandidate.toFixed(2)} write units a candidate`,
  );
  await bundleSizes();
  synthTime();
}

void main();
