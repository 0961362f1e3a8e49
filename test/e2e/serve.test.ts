import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { clusterKey, signatureHeader } from '../../lambdas/core/signature';
import { CHROMIUM, launchChromium } from '../fixtures/browser';
import { type EcrFake, startEcrFake } from '../fixtures/ecr-fake';
import { describeWithBinary } from '../fixtures/real-component';
import { CLI, runCli } from '../fixtures/run-cli';

const INGEST_SECRET = 'serve-test-ingest-secret';
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const OUTPUT = join(__dirname, '..', '..', 'test-output');
const DAY = 86_400_000;

interface Serve {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

/** Starts `registry-janitor serve` as a real process on a free port against the ECR fake. */
async function startServe(dataDir: string, ecrUrl: string): Promise<Serve> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_ENDPOINT_URL_ECR: ecrUrl,
      JANITOR_INGEST_SECRET: INGEST_SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    out += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 20_000);
    const check = () => {
      const match = /dashboard at (http:\/\/[\d.:]+)\//.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
  return { child, url, output: () => out };
}

function stop(serve: Serve, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    if (serve.child.exitCode !== null) resolve(serve.child.exitCode);
    serve.child.once('exit', (code) => resolve(code));
    serve.child.kill(signal);
  });
}

async function report(url: string, cluster: string, images: object[]): Promise<Response> {
  const body = JSON.stringify({ cluster, observedAt: new Date().toISOString(), images });
  const key = clusterKey(hmacSha256Hex, INGEST_SECRET, cluster);
  return fetch(`${url}/v1/sightings`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-janitor-signature': signatureHeader(hmacSha256Hex, key, Math.floor(Date.now() / 1000), body),
    },
    body,
  });
}

async function approve(reviewUrl: string, images: string[]): Promise<Response> {
  const link = new URL(reviewUrl);
  const form = new URLSearchParams();
  for (const image of images) form.append('image', image);
  form.set('exp', link.searchParams.get('exp')!);
  form.set('sig', link.searchParams.get('sig')!);
  return fetch(`${link.origin}${link.pathname}/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
}

describeWithBinary('registry-janitor serve, end to end', CHROMIUM, 'chromium', () => {
  let fake: EcrFake;
  let browser: Browser;

  beforeAll(async () => {
    fake = await startEcrFake();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fake?.close();
  });

  it('runs the whole story over HTTP and keeps its data across a restart', async () => {
    // Prepare: five old builds, one of them running in a cluster.
    const dataDir = mkdtempSync(join(tmpdir(), 'janitor-serve-'));
    const pushed = (days: number) => new Date(Date.now() - days * DAY);
    const images = [1, 2, 3, 4, 5].map((n) =>
      fake.putImage({ repository: 'web', tags: [`build-${n}`], pushedAt: pushed(40 - n) }),
    );
    const key = (n: number) => `web@${images[n - 1]!.digest}`;
    let serve = await startServe(dataDir, fake.url);
    try {
      // Act 1: sightings, signed and not.
      const accepted = await report(serve.url, 'prod', [
        { image: `${HOST}/web:build-5`, namespace: 'shop', workload: 'Deployment/web' },
      ]);
      const unsigned = await fetch(`${serve.url}/v1/sightings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(accepted.status).toBe(202);
      expect(unsigned.status).toBe(401);

      // Act 2: scan now; the digest lands in the outbox.
      const scan = (await (await fetch(`${serve.url}/v1/scans?wait=true`, { method: 'POST' })).json()) as {
        planId: string;
        reviewUrl: string;
      };
      const outbox = readdirSync(join(dataDir, 'outbox')).filter((name) => name.endsWith('.txt'));
      expect(outbox).toHaveLength(1);
      const digest = readFileSync(join(dataDir, 'outbox', outbox[0]!), 'utf8');
      expect(digest).toContain('Subject: registry-janitor: 4 images');
      expect(digest).toContain(scan.reviewUrl);

      // Act 3: the review page; an image sighted after the scan; approval of a subset.
      const page = await (await fetch(scan.reviewUrl)).text();
      for (const n of [1, 2, 3, 4]) expect(page).toContain(`value="${key(n)}"`);
      expect(page).not.toContain(`value="${key(5)}"`);
      await report(serve.url, 'prod', [{ image: `${HOST}/web:build-2` }, { image: `${HOST}/web:build-5` }]);
      const approved = await approve(scan.reviewUrl, [key(1), key(2), key(3)]);
      expect(approved.status).toBe(200);
      const again = await approve(scan.reviewUrl, [key(4)]);
      expect(again.status).toBe(409);
      let outcomes = '';
      for (let i = 0; i < 50 && !/Approved deletions applied/.test(outcomes); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        outcomes = await (await fetch(scan.reviewUrl)).text();
      }

      // Assess: build-2 was skipped, build-4 was not approved, build-5 runs.
      expect(
        fake
          .images('web')
          .map((image) => image.tags[0])
          .sort(),
      ).toEqual(['build-2', 'build-4', 'build-5']);
      expect(outcomes).toMatch(/skipped: became protected since the scan/);

      // Act 4: the dashboard in a real browser.
      const tab = await browser.newPage();
      await tab.goto(`${serve.url}/`);
      await tab.screenshot({ path: join(OUTPUT, 'serve-dashboard.png'), fullPage: true });
      const dashboard = (await tab.locator('body').textContent()) ?? '';
      expect(dashboard).toContain('prod');
      expect(dashboard).toContain(scan.planId);
      expect(dashboard).toMatch(/applied/);
      await tab.close();

      // Act 5: restart on the same data dir.
      expect(await stop(serve)).toBe(0);
      serve = await startServe(dataDir, fake.url);
      const afterRestart = await (
        await fetch(scan.reviewUrl.replace(new URL(scan.reviewUrl).origin, serve.url))
      ).text();
      expect(afterRestart).toMatch(/Approved deletions applied/);
      const health = (await (await fetch(`${serve.url}/v1/health`)).json()) as {
        lastScan: { planId: string };
      };
      expect(health.lastScan.planId).toBe(scan.planId);
    } finally {
      await stop(serve);
    }
  });

  it('refuses a second instance on the same data dir, and a bad config file, with exit 2', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'janitor-serve-'));
    const serve = await startServe(dataDir, fake.url);
    try {
      const second = await runCli(['serve', '--port', '0', '--data-dir', dataDir]);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/another registry-janitor serve \(pid \d+\) is using/);
      const badConfig = join(dataDir, 'bad.yaml');
      writeFileSync(badConfig, 'policy:\n  keep: [build]\n');
      const bad = await runCli([
        'serve',
        '--port',
        '0',
        '--data-dir',
        mkdtempSync(join(tmpdir(), 'janitor-serve-')),
        '--config',
        badConfig,
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("policy: keep.0: expects PREFIX=N with N a whole number, got 'build'");
      for (const port of ['', '1e0', '-1', '65536', '80.5']) {
        const refused = await runCli(['serve', '--port', port, '--data-dir', dataDir]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain(`--port expects a port number, got '${port}'`);
      }
    } finally {
      expect(await stop(serve)).toBe(0);
    }
  });
});
