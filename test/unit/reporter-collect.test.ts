import { getEventListeners } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectImages } from '../../reporter/src/collect';
import { ReporterConfigError } from '../../reporter/src/errors';
import { kubeLister, type ListAll } from '../../reporter/src/kube-api';
import { connectToKubernetes, inClusterConnection } from '../../reporter/src/kube-connection';
import type { RetryPolicy } from '../../reporter/src/retry';
import { generatedPods, RECORDED_CLUSTER_ENTRIES } from '../fixtures/kube-cluster';
import { type KubeFake, startKubeFake, TEST_CA_FILE, writeKubeconfig } from '../fixtures/kube-fake';

const NO_WAIT: RetryPolicy = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => {} };
const NOWHERE = { home: '/nonexistent', serviceAccountDir: '/nonexistent' };

let kube: KubeFake;
beforeAll(async () => {
  kube = await startKubeFake({ maxPageSize: 2 });
});
afterAll(() => kube.close());
beforeEach(() => kube.reset());

/** Lists through a kubeconfig, read by @kubernetes/client-node, as `KUBECONFIG` would. */
async function collectViaKubeconfig(log: string[] = []) {
  const connection = await connectToKubernetes({
    env: { KUBECONFIG: writeKubeconfig(kube.url, kube.token) },
    ...NOWHERE,
  });
  return collectImages(kubeLister(connection, { retry: NO_WAIT, log: (line) => log.push(line) }));
}

describe('collecting what a cluster runs', () => {
  it('reports every image kind with the workload that owns it, scaled-to-zero workloads included', async () => {
    const collected = await collectViaKubeconfig();

    expect(collected.entries).toEqual(RECORDED_CLUSTER_ENTRIES);
    expect(collected.pods).toBe(6);
    expect(collected.workloads).toEqual({
      ReplicaSet: 3,
      Job: 2,
      Deployment: 2,
      StatefulSet: 1,
      DaemonSet: 1,
      CronJob: 1,
      ControllerRevision: 3,
    });
  });

  it('asks for pages of 500 and follows continue tokens to the end of every list', async () => {
    await collectViaKubeconfig();

    const podRequests = kube.requests.filter((request) => request.startsWith('/api/v1/pods'));
    expect(podRequests).toHaveLength(3);
    expect(podRequests[0]).toBe('/api/v1/pods?limit=500');
    expect(
      podRequests.slice(1).every((request) => /^\/api\/v1\/pods\?limit=500&continue=[\w-]+$/.test(request)),
    ).toBe(true);
    for (const path of [
      '/apis/apps/v1/deployments',
      '/apis/apps/v1/replicasets',
      '/apis/batch/v1/cronjobs',
    ]) {
      expect(kube.requests).toContain(`${path}?limit=500`);
    }
  });

  it('lists again from the start when the continue token expired (410)', async () => {
    const connection = await connectToKubernetes({
      env: { KUBECONFIG: writeKubeconfig(kube.url, kube.token) },
      ...NOWHERE,
    });
    const list = kubeLister(connection, { retry: NO_WAIT });
    const pages: number[] = [];
    let expired = false;

    const count = await list({ path: '/api/v1/pods', resource: 'pods', group: '' }, (items) => {
      pages.push(items.length);
      if (!expired) {
        expired = true;
        kube.expireContinueTokens();
      }
    });

    expect(count).toBe(6);
    expect(pages).toEqual([2, 2, 2, 2]);
  });

  it('asks for fewer items a page when a page outgrows its byte budget, and still lists every pod', async () => {
    // Prepare: 40 pods of ~100 KB each (anyone who may create a pod can pad it), a 1 MB budget.
    const big = await startKubeFake();
    const padded = generatedPods(40).map((pod) => {
      const object = pod as { metadata: Record<string, unknown> };
      return { ...object, metadata: { ...object.metadata, annotations: { padding: 'x'.repeat(100_000) } } };
    });
    big.setItems('pods', padded);
    const log: string[] = [];
    const pages: number[] = [];
    try {
      const connection = await connectToKubernetes({
        env: { KUBECONFIG: writeKubeconfig(big.url, big.token) },
        ...NOWHERE,
      });
      const list = kubeLister(connection, {
        retry: NO_WAIT,
        pageBytes: 1_000_000,
        log: (line) => log.push(line),
      });

      // Act
      const count = await list({ path: '/api/v1/pods', resource: 'pods', group: '' }, (items) =>
        pages.push(items.length),
      );

      // Assess: every pod, in pages of at most 8 (~800 KB), the limit halved from 500 on the way.
      expect(count).toBe(40);
      expect(pages).toEqual([8, 8, 8, 8, 8]);
      const limits = big.requests.map((request) => new URL(request, 'http://x').searchParams.get('limit'));
      expect(limits).toEqual(['500', '250', '125', '63', '32', '16', '8', '8', '8', '8', '8']);
      expect(log).toContain('listing pods: a page outgrew 1000000 bytes; asking for 250 at a time');

      // A second listing with the same lister starts at the size that worked.
      big.requests.length = 0;
      await list({ path: '/api/v1/pods', resource: 'pods', group: '' }, () => undefined);
      expect(big.requests.map((request) => new URL(request, 'http://x').searchParams.get('limit'))).toEqual([
        '8',
        '8',
        '8',
        '8',
        '8',
      ]);
    } finally {
      await big.close();
    }
  });

  it('retries a list page the API server could not answer (503)', async () => {
    kube.failNext('pods', 503, 2);
    const log: string[] = [];

    const collected = await collectViaKubeconfig(log);

    expect(collected.entries).toEqual(RECORDED_CLUSTER_ENTRIES);
    expect(log.filter((line) => line.includes('retrying'))).toHaveLength(2);
  });

  it('fails the whole listing, naming the missing permission, when a resource is forbidden', async () => {
    kube.failNext('cronjobs', 403);

    await expect(collectViaKubeconfig()).rejects.toThrow(
      /listing cronjobs\.batch: 403 cronjobs\.batch is forbidden: .* \(the reporter's ClusterRole needs list on cronjobs in batch\)/,
    );
  });

  /** Collects from a server that answers every list with `answer` (200). */
  async function collectFromServerAnswering(answer: unknown) {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const connection = {
      server: new URL(`http://127.0.0.1:${port}`),
      source: 'test',
      requestOptions: async () => ({}),
    };
    try {
      return await collectImages(kubeLister(connection, { retry: NO_WAIT }));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it.each([
    ['a Status', { kind: 'Status', status: 'Success' }],
    ["a gateway's empty object", {}],
    ['a table without items', { kind: 'Table', rows: [] }],
  ])('fails the listing when the API server answers 200 with %s instead of a list', async (_name, answer) => {
    // A wrong path prefix in the server URL, a proxy, a gateway: never "the cluster runs nothing".
    await expect(collectFromServerAnswering(answer)).rejects.toThrow(
      /listing [a-z.]+: the answer is not a list \((kind \w+|no kind), no items\)/,
    );
  });

  it('reads a list that writes its items as null as empty', async () => {
    const collected = await collectFromServerAnswering({ kind: 'PodList', metadata: {}, items: null });
    expect(collected.entries).toEqual([]);
    expect(collected.pods).toBe(0);
  });

  it('says when the credentials are refused', async () => {
    const connection = await connectToKubernetes({
      env: { KUBECONFIG: writeKubeconfig(kube.url, 'wrong') },
      ...NOWHERE,
    });
    await expect(collectImages(kubeLister(connection, { retry: NO_WAIT }))).rejects.toThrow(
      /401 Unauthorized \(the credentials were refused/,
    );
  });
});

describe('naming the workload of a pod whose owner is created during the listing', () => {
  const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0';
  interface Ref {
    readonly kind: string;
    readonly name: string;
  }
  /** A workload of `kind` running IMAGE (a CronJob's template one level further down). */
  const owned = (kind: string, name: string, owner?: Ref) => {
    const template = { spec: { containers: [{ name: 'app', image: IMAGE }] } };
    return {
      metadata: {
        name,
        namespace: 'apps',
        ...(owner ? { ownerReferences: [{ apiVersion: 'v1', ...owner, controller: true }] } : {}),
      },
      spec: kind === 'CronJob' ? { jobTemplate: { spec: { template } } } : { template },
    };
  };
  const podOf = (name: string, owner: Ref) => ({
    metadata: {
      name,
      namespace: 'apps',
      ownerReferences: [{ apiVersion: 'v1', ...owner, controller: true }],
    },
    spec: { containers: [{ name: 'app', image: IMAGE }] },
    status: { containerStatuses: [{ name: 'app', imageID: `${IMAGE}@sha256:${'e'.repeat(64)}` }] },
  });

  /**
   * A cluster that runs `workload` (a CronJob or Deployment) and, once `createdAfter` lists were
   * answered, the `child` (Job or ReplicaSet) it makes and that child's pod; listed by a lister that
   * answers from the cluster as it is at the moment each list is read.
   */
  function scriptedCluster(workload: Ref, child: Ref, createdAfter: number) {
    const listed: string[] = [];
    const list: ListAll = async (resource, onPage) => {
      const created = listed.length >= createdAfter;
      listed.push(resource.resource);
      const items: unknown[] = [];
      if (resource.resource === `${workload.kind.toLowerCase()}s`)
        items.push(owned(workload.kind, workload.name));
      if (created && resource.resource === `${child.kind.toLowerCase()}s`)
        items.push(owned(child.kind, child.name, workload));
      if (created && resource.resource === 'pods') items.push(podOf(`${child.name}-q8zkt`, child));
      onPage(items);
      return items.length;
    };
    return { list, listed };
  }

  const LISTED = [
    'pods',
    'deployments',
    'statefulsets',
    'daemonsets',
    'replicasets',
    'jobs',
    'cronjobs',
    'controllerrevisions',
  ];
  const NIGHTLY: Ref = { kind: 'CronJob', name: 'nightly' };
  const NIGHTLY_RUN: Ref = { kind: 'Job', name: 'nightly-29000001' };
  const WEB: Ref = { kind: 'Deployment', name: 'web' };
  const WEB_ROLLOUT: Ref = { kind: 'ReplicaSet', name: 'web-7d4b9c6f8d' };
  /** Every moment a child can be created at: before the first list, between two, after the last. */
  const MOMENTS: Array<[Ref, Ref, number]> = [];
  for (const [workload, child] of [
    [NIGHTLY, NIGHTLY_RUN],
    [WEB, WEB_ROLLOUT],
  ] as const) {
    for (let createdAfter = 0; createdAfter <= LISTED.length; createdAfter++) {
      MOMENTS.push([workload, child, createdAfter]);
    }
  }

  it.each(MOMENTS)(
    'names the pod by %o when its %o is created after %i lists were read',
    async (workload, child, createdAfter) => {
      // Prepare
      const { list, listed } = scriptedCluster(workload, child, createdAfter);

      // Act
      const collected = await collectImages(list);

      // Assess: every list read once; every entry, the pod's when it was listed, names the workload.
      expect([...listed].sort()).toEqual([...LISTED].sort());
      expect(collected.entries.length).toBeGreaterThan(0);
      expect(collected.entries.map((entry) => entry.workload)).toEqual(
        collected.entries.map(() => `${workload.kind}/${workload.name}`),
      );
      expect(collected.entries.some((entry) => entry.imageID !== undefined)).toBe(collected.pods === 1);
    },
  );

  it.each(LISTED)('fails the whole listing when the list of %s fails', async (failing) => {
    // Prepare: every other list answers.
    const list: ListAll = async (resource, onPage) => {
      if (resource.resource === failing) throw new Error(`listing ${failing}: 503 ServiceUnavailable`);
      onPage([podOf('web-1', WEB_ROLLOUT)]);
      return 1;
    };

    // Act and Assess
    await expect(collectImages(list)).rejects.toThrow(`listing ${failing}: 503 ServiceUnavailable`);
  });
});

describe('reaching the Kubernetes API', () => {
  it("uses the pod's service account over TLS when there is no kubeconfig", async () => {
    const tlsKube = await startKubeFake({ tls: true, token: 'service-account-token' });
    try {
      const dir = serviceAccountDir('service-account-token\n');
      const port = new URL(tlsKube.url).port;
      const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port };

      const connection = await connectToKubernetes({ env, home: '/nonexistent', serviceAccountDir: dir });
      const collected = await collectImages(kubeLister(connection, { retry: NO_WAIT }));

      expect(connection.source).toBe('in-cluster service account');
      expect(collected.entries).toEqual(RECORDED_CLUSTER_ENTRIES);
    } finally {
      await tlsKube.close();
    }
  });

  it('drops a list request in flight at the deadline, and retries none', async () => {
    // Prepare: an API server that takes requests and never answers.
    let requests = 0;
    const silent = createServer(() => {
      requests++;
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error('the test deadline passed')), 300);
    try {
      const connection = await connectToKubernetes({
        env: { KUBECONFIG: writeKubeconfig(url, 't') },
        ...NOWHERE,
      });

      // Act
      const listing = collectImages(
        kubeLister(connection, {
          retry: { attempts: 4, baseDelayMs: 1, maxDelayMs: 1 },
          deadline: deadline.signal,
        }),
      );

      // Assess
      await expect(listing).rejects.toThrow(/: the test deadline passed$/);
      expect(requests).toBe(1);
    } finally {
      clearTimeout(timer);
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe('an API server that trickles its answer', () => {
    const POD_LIST = '{"kind":"PodList","metadata":{},"items":[]}';
    const PODS = { path: '/api/v1/pods', resource: 'pods', group: '' };
    const trickles: NodeJS.Timeout[] = [];
    let requests = 0;
    /** Answers the first `slowAnswers` requests one byte every 200 ms (8.6 s in all), the rest at once. */
    let slowAnswers = 0;
    const slow = createServer((_request, response) => {
      requests++;
      response.writeHead(200, { 'Content-Type': 'application/json' });
      if (requests > slowAnswers) {
        response.end(POD_LIST);
        return;
      }
      let sent = 0;
      const trickle = setInterval(() => {
        response.write(POD_LIST.charAt(sent++));
        if (sent === POD_LIST.length) {
          clearInterval(trickle);
          response.end();
        }
      }, 200);
      trickles.push(trickle);
    });
    let lister: ReturnType<typeof kubeLister>;
    const log: string[] = [];

    beforeAll(async () => {
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      const port = (slow.address() as AddressInfo).port;
      const connection = {
        server: new URL(`http://127.0.0.1:${port}`),
        source: 'test',
        requestOptions: async () => ({}),
      };
      lister = kubeLister(connection, { retry: NO_WAIT, timeoutMs: 1000, log: (line) => log.push(line) });
    });
    afterEach(() => {
      for (const trickle of trickles.splice(0)) clearInterval(trickle);
      slow.closeAllConnections();
      requests = 0;
      log.length = 0;
    });
    afterAll(() => new Promise((resolve) => slow.close(resolve)));

    it('cuts a list request off after timeoutMs in all, and fails the list once every attempt was cut off', async () => {
      // Prepare
      slowAnswers = NO_WAIT.attempts;
      const started = Date.now();

      // Act
      const listing = lister(PODS, () => undefined);

      // Assess: 3 attempts of 1 s each, not 3 times 8.6 s.
      await expect(listing).rejects.toThrow(/^listing pods: no whole answer within 1000 ms$/);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(requests).toBe(3);
      expect(log).toEqual([
        'listing pods: no whole answer within 1000 ms; retrying in 1 ms',
        'listing pods: no whole answer within 1000 ms; retrying in 1 ms',
      ]);
    });

    it('names the deadline when it passes while an answer is trickling in', async () => {
      // Prepare
      slowAnswers = NO_WAIT.attempts;
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new Error('the test deadline passed')), 300);
      const connection = {
        server: new URL(`http://127.0.0.1:${(slow.address() as AddressInfo).port}`),
        source: 'test',
        requestOptions: async () => ({}),
      };

      // Act
      const listing = kubeLister(connection, { retry: NO_WAIT, timeoutMs: 1000, deadline: deadline.signal })(
        PODS,
        () => undefined,
      );

      // Assess
      await expect(listing).rejects.toThrow(/^listing pods: the test deadline passed$/);
      expect(requests).toBe(1);
      clearTimeout(timer);
    });

    it('retries a list request that was cut off, and reads the answer that comes whole', async () => {
      // Prepare
      slowAnswers = 1;

      // Act
      const count = await lister(PODS, () => undefined);

      // Assess
      expect(count).toBe(0);
      expect(requests).toBe(2);
      expect(log).toEqual(['listing pods: no whole answer within 1000 ms; retrying in 1 ms']);
    });
  });

  it('leaves no listener on the deadline once the listing is done', async () => {
    // A round lists dozens of pages; each left listening would pile up on the round's deadline.
    const deadline = new AbortController();
    const connection = await connectToKubernetes({
      env: { KUBECONFIG: writeKubeconfig(kube.url, kube.token) },
      ...NOWHERE,
    });

    await collectImages(kubeLister(connection, { retry: NO_WAIT, deadline: deadline.signal }));

    expect(kube.requests.length).toBeGreaterThan(10);
    expect(getEventListeners(deadline.signal, 'abort')).toEqual([]);
  });

  it('reads a rotated service account token again for every request', async () => {
    const dir = serviceAccountDir('first');
    const connection = inClusterConnection(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
      dir,
    );
    const before = await connection.requestOptions();
    writeFileSync(join(dir, 'token'), 'second');
    const after = await connection.requestOptions();

    expect(connection.server.href).toBe('https://[fd00::1]:6443/');
    expect([before.headers?.Authorization, after.headers?.Authorization]).toEqual([
      'Bearer first',
      'Bearer second',
    ]);
  });

  it('is a configuration error when there is neither a kubeconfig nor a service account', async () => {
    await expect(connectToKubernetes({ env: {}, ...NOWHERE })).rejects.toThrow(ReporterConfigError);
    await expect(connectToKubernetes({ env: {}, ...NOWHERE })).rejects.toThrow(/set KUBECONFIG/);
  });

  it('refuses a plain-HTTP kubeconfig server unless insecure-skip-tls-verify is set, as the client does', async () => {
    const file = writeKubeconfig(kube.url, kube.token);
    const strict = join(mkdtempSync(join(tmpdir(), 'janitor-kube-')), 'kubeconfig');
    writeFileSync(strict, readFileSync(file, 'utf8').replace(/.*insecure-skip-tls-verify.*\n/, ''));

    await expect(connectToKubernetes({ env: { KUBECONFIG: strict }, ...NOWHERE })).rejects.toThrow(
      /plain HTTP: set insecure-skip-tls-verify/,
    );
  });

  it('is a configuration error when the kubeconfig server is not a URL', async () => {
    const file = writeKubeconfig(kube.url, kube.token);
    const broken = join(mkdtempSync(join(tmpdir(), 'janitor-kube-')), 'kubeconfig');
    writeFileSync(broken, readFileSync(file, 'utf8').replace(/server: .*/, 'server: not-a-url'));

    const connecting = connectToKubernetes({ env: { KUBECONFIG: broken }, ...NOWHERE });

    await expect(connecting).rejects.toThrow(ReporterConfigError);
    await expect(connectToKubernetes({ env: { KUBECONFIG: broken }, ...NOWHERE })).rejects.toThrow(
      "names server 'not-a-url' for its current cluster, which is not a URL",
    );
  });
});

function serviceAccountDir(token: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'janitor-sa-'));
  writeFileSync(join(dir, 'token'), token);
  copyFileSync(TEST_CA_FILE, join(dir, 'ca.crt'));
  return dir;
}
