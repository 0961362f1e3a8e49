import { connectToKubernetes } from '../../reporter/src/kube-connection';
import { type ReportDeps, reportCommand } from '../../reporter/src/report-command';
import { type KubeFake, startKubeFake, writeKubeconfig } from '../fixtures/kube-fake';

const KEY = 'c0'.repeat(32);
const ENV = {
  JANITOR_ENDPOINT: 'https://ingest.example.com/prod',
  JANITOR_CLUSTER: 'prod-eu',
  JANITOR_CLUSTER_KEY: KEY,
};

let kube: KubeFake;
beforeAll(async () => {
  kube = await startKubeFake();
});
afterAll(() => kube.close());

/** Deps around the kube fake, with `answers` as the ingest's successive status codes. */
function deps(answers: number[], controller = new AbortController()) {
  const stderr: string[] = [];
  const posted: string[] = [];
  const fetchStub: typeof fetch = async (url) => {
    posted.push(String(url));
    const status = answers.shift() ?? 202;
    const body = status === 202 ? '{"accepted":13,"ignored":0}' : '{"message":"Service Unavailable"}';
    if (answers.length === 0 && status === 202) controller.abort();
    return new Response(body, { status });
  };
  const reportDeps: ReportDeps = {
    env: ENV,
    now: () => new Date(),
    stdout: () => {},
    stderr: (line) => stderr.push(line),
    signal: controller.signal,
    fetch: fetchStub,
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    connect: () =>
      connectToKubernetes({
        env: { KUBECONFIG: writeKubeconfig(kube.url, kube.token) },
        home: '/nonexistent',
      }),
  };
  return { reportDeps, stderr, posted };
}

describe('the report command', () => {
  it('goes on reporting after a failed round, until it is stopped, and then exits 0', async () => {
    const { reportDeps, stderr, posted } = deps([503, 202]);

    const code = await reportCommand({ interval: '1s' }, reportDeps);

    expect(code).toBe(0);
    expect(posted).toEqual([
      'https://ingest.example.com/prod/v1/sightings',
      'https://ingest.example.com/prod/v1/sightings',
    ]);
    expect(stderr.filter((line) => line.startsWith('listed 6 pods'))).toHaveLength(2);
    expect(stderr).toContainEqual(
      expect.stringMatching(/^body 1\/1 \(\d+ bytes\) not delivered: POST ingest\.example\.com: 503/),
    );
    expect(stderr).toContainEqual(
      expect.stringMatching(/^sent body 1\/1 \(\d+ bytes\): accepted 13, ignored 0$/),
    );
    expect(stderr.at(-1)).toBe('stopped');
  });

  it('exits 1 with --once when a body was not delivered', async () => {
    const { reportDeps } = deps([503]);
    expect(await reportCommand({ once: true }, reportDeps)).toBe(1);
  });

  it('gives a round up at --deadline: the request in flight is dropped, no retry, the rest not sent, exit 1', async () => {
    // Prepare: an ingest that never answers (until the request is aborted), retries that would go on.
    const { reportDeps, stderr } = deps([]);
    let requests = 0;
    const hanging: typeof fetch = (_url, init) => {
      requests++;
      return new Promise((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    };

    // Act
    const code = await reportCommand(
      { once: true, deadline: '1s' },
      { ...reportDeps, fetch: hanging, retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 } },
    );

    // Assess
    expect(code).toBe(1);
    expect(requests).toBe(1);
    expect(stderr).toContainEqual(
      expect.stringMatching(
        /^body 1\/1 \(\d+ bytes\) not delivered: POST ingest\.example\.com: the round's deadline \(--deadline 1 s\) passed$/,
      ),
    );
  });

  it('refuses a --deadline that is not a duration (exit 2)', async () => {
    const { reportDeps, stderr } = deps([]);
    expect(await reportCommand({ once: true, deadline: 'soon' }, reportDeps)).toBe(2);
    expect(stderr).toContain("--deadline expects a duration like 30s, 5m or 1h, got 'soon'");
  });

  it.each([
    ['interval', '600h'],
    ['deadline', '600h'],
  ])('refuses a --%s of %s, which a timer would wait 1 ms for (exit 2)', async (flag, text) => {
    const { reportDeps, stderr, posted } = deps([]);

    const code = await reportCommand({ once: true, [flag]: text }, reportDeps);

    expect(code).toBe(2);
    expect(stderr).toEqual([
      `--${flag} may be at most 596h (35791m), as long as Node's timers wait, got '${text}'`,
    ]);
    expect(posted).toEqual([]);
  });

  it('never writes the cluster key to its log', async () => {
    const { reportDeps, stderr } = deps([400]);
    await reportCommand({ once: true }, reportDeps);
    expect(stderr.join('\n')).not.toContain(KEY);
  });
});
