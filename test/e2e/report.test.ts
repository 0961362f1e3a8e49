import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { clusterReportSchema } from '../../lambdas/core/report';
import { clusterKey } from '../../lambdas/core/signature';
import { type IngestFake, startIngestFake } from '../fixtures/ingest-fake';
import { generatedPods, RECORDED_CLUSTER_ENTRIES } from '../fixtures/kube-cluster';
import { type KubeFake, startKubeFake, writeKubeconfig } from '../fixtures/kube-fake';
import { runCli, spawnNode } from '../fixtures/run-cli';

const ROOT = join(__dirname, '..', '..');
const CLUSTER = 'prod-eu';
const KEY = clusterKey(hmacSha256Hex, 'ingest-secret', CLUSTER);
const MIB = 1024 * 1024;

let kube: KubeFake;
let ingest: IngestFake;
let kubeconfig: string;
let home: string;

beforeAll(async () => {
  kube = await startKubeFake();
  ingest = await startIngestFake({ key: KEY, pathPrefix: '/prod' });
  kubeconfig = writeKubeconfig(kube.url, kube.token);
  home = mkdtempSync(join(tmpdir(), 'janitor-home-'));
});
afterAll(async () => {
  await kube.close();
  await ingest.close();
});
beforeEach(() => {
  kube.reset();
  ingest.reset();
});

/** The reporter's environment: the fake cluster through a kubeconfig, the fake ingest under /prod. */
function reporterEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    HOME: home,
    KUBECONFIG: kubeconfig,
    JANITOR_ENDPOINT: ingest.endpoint,
    JANITOR_CLUSTER: CLUSTER,
    JANITOR_CLUSTER_KEY: KEY,
    ...overrides,
  };
}

const report = (args: string[], env: NodeJS.ProcessEnv = reporterEnv()) =>
  runCli(['report', ...args], { env });
const accepted = () => ingest.requests.filter((request) => request.status === 202);

describe('registry-janitor report', () => {
  it('sends what the cluster runs, signed, to the endpoint path + /v1/sightings, and exits 0', async () => {
    const result = await report(['--once']);

    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(ingest.accepted).toHaveLength(1);
    expect(ingest.accepted[0]).toMatchObject({ cluster: CLUSTER, images: RECORDED_CLUSTER_ENTRIES });
    expect(ingest.requests[0]?.contentType).toBe('application/json');
    expect(result.stderr).toContain('listed 6 pods, 13 workloads');
    expect(result.stderr).toMatch(/sent body 1\/1 \(\d+ bytes\): accepted 15, ignored 0/);
    expect(result.stderr).not.toContain(KEY);
  });

  it('splits a 10,000-pod cluster into signed bodies of at most 1 MiB, all with one observedAt', async () => {
    kube.setItems('pods', generatedPods(10_000));

    const result = await report(['--once']);

    expect(result.code).toBe(0);
    expect(kube.requests.filter((request) => request.startsWith('/api/v1/pods?limit=500'))).toHaveLength(20);
    const bodies = ingest.requests.map((request) => request.rawBody);
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    expect(accepted()).toHaveLength(bodies.length);
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MIB);
    expect(new Set(ingest.accepted.map((body) => body.observedAt)).size).toBe(1);
    const images = ingest.accepted.flatMap((body) => body.images);
    expect(images.filter((entry) => entry.image.includes('/generated/'))).toHaveLength(10_000);
    // 11 images of workload templates and earlier revisions (no recorded pods run them now), the
    // scaled-to-zero worker among them
    expect(images).toHaveLength(10_011);
    expect(images).toContainEqual(
      RECORDED_CLUSTER_ENTRIES.find((entry) => entry.workload === 'Deployment/worker'),
    );
  });

  it('retries a body the ingest answered 503, and exits 0 once it got 202', async () => {
    ingest.failNext(1);

    const result = await report(['--once']);

    expect(result.code).toBe(0);
    expect(ingest.requests.map((request) => request.status)).toEqual([503, 202]);
    expect(result.stderr).toMatch(/503 Service Unavailable; retrying in \d+ ms/);
  });

  it("reports a body rejected with 4xx with the server's message, and exits 1", async () => {
    ingest.rejectWith(401, 'signature does not match');

    const result = await report(['--once']);

    expect(result.code).toBe(1);
    expect(ingest.requests).toHaveLength(1);
    expect(result.stderr).toContain('body 1/1');
    expect(result.stderr).toContain('not delivered: POST 127.0.0.1');
    expect(result.stderr).toContain('401 signature does not match');
  });

  it('sends nothing and exits 1 when a list is forbidden: a partial report must not look complete', async () => {
    kube.failNext('daemonsets', 403);

    const result = await report(['--once']);

    expect(result.code).toBe(1);
    expect(ingest.requests).toEqual([]);
    expect(result.stderr).toContain('needs list on daemonsets in apps');
    expect(result.stderr).toContain('nothing was sent');
  });

  it('prints the bodies as JSON with --dry-run, needing neither endpoint nor key, and sends nothing', async () => {
    const env = reporterEnv({ JANITOR_ENDPOINT: undefined, JANITOR_CLUSTER_KEY: undefined });

    const result = await report(['--dry-run'], env);

    expect(result.code).toBe(0);
    const bodies = JSON.parse(result.stdout) as unknown[];
    expect(bodies).toHaveLength(1);
    expect(clusterReportSchema.parse(bodies[0])).toMatchObject({
      cluster: CLUSTER,
      images: RECORDED_CLUSTER_ENTRIES,
    });
    expect(ingest.requests).toEqual([]);
  });

  it.each([
    ['JANITOR_CLUSTER', { JANITOR_CLUSTER: undefined }, /JANITOR_CLUSTER is not set/],
    ['JANITOR_ENDPOINT', { JANITOR_ENDPOINT: undefined }, /JANITOR_ENDPOINT is not set/],
    [
      'JANITOR_CLUSTER_KEY',
      { JANITOR_CLUSTER_KEY: 'not-a-key' },
      /JANITOR_CLUSTER_KEY must be 64 lowercase hex/,
    ],
    ['KUBECONFIG', { KUBECONFIG: undefined }, /no Kubernetes configuration: set KUBECONFIG/],
  ])(
    'exits 2 naming %s when it is missing or invalid, before anything is listed',
    async (_, overrides, message) => {
      const result = await report(['--once'], reporterEnv(overrides));

      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(kube.requests).toEqual([]);
      expect(ingest.requests).toEqual([]);
    },
  );

  it('exits 2 on an --interval it cannot read', async () => {
    const result = await report(['--interval', '5 minutes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--interval expects a duration like 30s, 5m or 1h, got '5 minutes'");
  });

  it('repeats every --interval until SIGTERM, then exits 0', async () => {
    const child = spawnNode([join(ROOT, 'dist', 'cli.js'), 'report', '--interval', '1s'], reporterEnv());

    await waitFor(() => accepted().length >= 2);
    child.process.kill('SIGTERM');
    const result = await child.done;

    expect(result.code).toBe(0);
    expect(result.stderr).toContain('stopped');
    expect(accepted().length).toBeGreaterThanOrEqual(2);
  });
});

describe('the reporter bundle (npm run build:reporter)', () => {
  let bundle: string;
  beforeAll(() => {
    execFileSync(process.execPath, ['scripts/build-reporter.mjs'], { cwd: ROOT, stdio: 'pipe' });
    bundle = join(ROOT, 'reporter', 'dist', 'reporter.js');
  });

  it('runs as `node reporter.js report --once`', async () => {
    const result = await spawnNode([bundle, 'report', '--once'], reporterEnv()).done;

    expect(result.code).toBe(0);
    expect(ingest.accepted[0]?.images).toEqual(RECORDED_CLUSTER_ENTRIES);
  });

  it('runs on its own, without node_modules, and says what a kubeconfig would need', async () => {
    const alone = join(mkdtempSync(join(tmpdir(), 'janitor-bundle-')), 'reporter.js');
    copyFileSync(bundle, alone);

    const help = await spawnNode([alone, 'report', '--help'], {}).done;
    const noCommand = await spawnNode([alone], {}).done;
    const withKubeconfig = await spawnNode([alone, 'report', '--once'], reporterEnv()).done;

    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('--interval <duration>') });
    expect(noCommand).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('Usage:') });
    expect(withKubeconfig.code).toBe(2);
    expect(withKubeconfig.stderr).toContain(
      'needs @kubernetes/client-node, which the reporter bundle leaves out',
    );
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the reporter');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
