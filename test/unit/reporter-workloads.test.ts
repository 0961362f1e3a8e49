import { OwnerIndex, podImages, podWorkload, templateImages } from '../../reporter/src/workloads';
import { recordedList } from '../fixtures/kube-fake';

const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

/** The owner index a full listing builds from the recorded ReplicaSets and Jobs. */
function recordedOwners(): OwnerIndex {
  const owners = new OwnerIndex();
  for (const item of recordedList('replicasets').items) owners.record('ReplicaSet', item);
  for (const item of recordedList('jobs').items) owners.record('Job', item);
  return owners;
}

const podNamed = (name: string) =>
  recordedList('pods').items.find((pod) => (pod as { metadata: { name: string } }).metadata.name === name);

const pod = (metadata: Record<string, unknown>, spec: Record<string, unknown> = {}, status = {}) => ({
  metadata: { namespace: 'ns', ...metadata },
  spec,
  status,
});

describe('the workload of a pod', () => {
  it.each([
    ['web-7d4b9c6f8d-x5k2p', 'Deployment/web'],
    ['db-0', 'StatefulSet/db'],
    ['log-agent-h7x2q', 'DaemonSet/log-agent'],
    ['nightly-29012345-q8zkt', 'CronJob/nightly'],
    ['debug-shell', 'Pod/debug-shell'],
  ])('names %s as %s, following ReplicaSet and Job owners', (name, workload) => {
    expect(podWorkload(podNamed(name), recordedOwners())).toBe(workload);
  });

  it('names the controller when its own owner was not listed', () => {
    const orphan = pod({
      name: 'api-5c-x',
      ownerReferences: [{ kind: 'ReplicaSet', name: 'api-5c', controller: true }],
    });
    expect(podWorkload(orphan, new OwnerIndex())).toBe('ReplicaSet/api-5c');
  });

  it('prefers the controlling owner reference over the first one', () => {
    const owned = pod({
      name: 'p',
      ownerReferences: [
        { kind: 'ConfigMap', name: 'not-a-controller' },
        { kind: 'StatefulSet', name: 'queue', controller: true },
      ],
    });
    expect(podWorkload(owned, new OwnerIndex())).toBe('StatefulSet/queue');
  });

  it('names a static (mirror) pod owned by its node as a bare pod', () => {
    const mirror = pod({
      name: 'kube-proxy-node1',
      ownerReferences: [{ kind: 'Node', name: 'node1', controller: true }],
    });
    expect(podWorkload(mirror, new OwnerIndex())).toBe('Pod/kube-proxy-node1');
  });

  it('does not confuse owners of the same name in different namespaces', () => {
    const owners = new OwnerIndex();
    owners.record('ReplicaSet', {
      metadata: {
        name: 'app-1',
        namespace: 'a',
        ownerReferences: [{ kind: 'Deployment', name: 'app', controller: true }],
      },
    });
    const inB = pod({
      name: 'x',
      namespace: 'b',
      ownerReferences: [{ kind: 'ReplicaSet', name: 'app-1', controller: true }],
    });
    expect(podWorkload(inB, owners)).toBe('ReplicaSet/app-1');
  });
});

describe('the images of a pod', () => {
  it('reports containers, init and ephemeral containers with the imageID of the status of the same name', () => {
    const entries = podImages(podNamed('web-7d4b9c6f8d-q9w8e'), recordedOwners());

    expect(entries).toEqual([
      {
        image: `${ECR}/shop/web:1.4.2`,
        imageID: expect.stringMatching(new RegExp(`^${ECR}/shop/web@sha256:[0-9a-f]{64}$`)),
        namespace: 'shop',
        workload: 'Deployment/web',
      },
      {
        image: `${ECR}/shop/web-migrate:1.4.2`,
        imageID: expect.stringMatching(/web-migrate@sha256:/),
        namespace: 'shop',
        workload: 'Deployment/web',
      },
      {
        image: 'busybox:1.36',
        imageID: expect.stringMatching(/^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/),
        namespace: 'shop',
        workload: 'Deployment/web',
      },
    ]);
  });

  it('keeps the runtime prefixes and bare image ids as the kubelet reports them (the ingest normalises)', () => {
    const dockerShim = podImages(podNamed('web-7d4b9c6f8d-x5k2p'), recordedOwners());
    const bareId = podImages(podNamed('log-agent-h7x2q'), recordedOwners());

    expect(dockerShim[0]?.imageID).toMatch(/^docker-pullable:\/\/123456789012\.dkr\.ecr/);
    expect(bareId).toEqual([
      {
        image: 'fluent/fluent-bit:3.1',
        imageID: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        namespace: 'kube-system',
        workload: 'DaemonSet/log-agent',
      },
    ]);
  });

  it('leaves imageID out while a container is still being created', () => {
    expect(podImages(podNamed('debug-shell'), recordedOwners())).toEqual([
      { image: 'alpine:3.20', namespace: 'default', workload: 'Pod/debug-shell' },
    ]);
  });

  it('matches statuses by container name, not by position', () => {
    const twoContainers = pod(
      { name: 'p' },
      {
        containers: [
          { name: 'a', image: 'a:1' },
          { name: 'b', image: 'b:1' },
        ],
      },
      {
        containerStatuses: [
          { name: 'b', imageID: 'b@sha256:bb' },
          { name: 'a', imageID: 'a@sha256:aa' },
        ],
      },
    );
    expect(podImages(twoContainers, new OwnerIndex()).map((entry) => entry.imageID)).toEqual([
      'a@sha256:aa',
      'b@sha256:bb',
    ]);
  });

  it('reads nothing from malformed objects instead of throwing', () => {
    expect(podImages({}, new OwnerIndex())).toEqual([]);
    expect(podImages({ metadata: 'x', spec: { containers: 'nope' } }, new OwnerIndex())).toEqual([]);
    expect(podImages(pod({ name: 'p' }, { containers: [{ name: 'c' }, null] }), new OwnerIndex())).toEqual(
      [],
    );
  });
});

describe('the images of a pod template', () => {
  it('reports a Deployment scaled to zero, with its init containers', () => {
    const [web, worker] = recordedList('deployments').items;

    expect(templateImages('Deployment', worker, recordedOwners())).toEqual([
      { image: `${ECR}/shop/worker:2.0.0`, namespace: 'shop', workload: 'Deployment/worker' },
    ]);
    expect(templateImages('Deployment', web, recordedOwners()).map((entry) => entry.image)).toEqual([
      `${ECR}/shop/web:1.4.2`,
      `${ECR}/shop/web-migrate:1.4.2`,
    ]);
  });

  it("names an old ReplicaSet's template by its Deployment", () => {
    const old = recordedList('replicasets').items[1];
    expect(templateImages('ReplicaSet', old, recordedOwners())).toEqual([
      { image: `${ECR}/shop/web:1.4.1`, namespace: 'shop', workload: 'Deployment/web' },
      { image: `${ECR}/shop/web-migrate:1.4.1`, namespace: 'shop', workload: 'Deployment/web' },
    ]);
  });

  it("reads a CronJob's job template, and names its Jobs by the CronJob", () => {
    const owners = recordedOwners();
    const [cronJob] = recordedList('cronjobs').items;
    const [scheduled, standalone] = recordedList('jobs').items;
    const reports = {
      image: `${ECR}/batch/reports:nightly`,
      namespace: 'batch',
      workload: 'CronJob/nightly',
    };

    expect(templateImages('CronJob', cronJob, owners)).toEqual([reports]);
    expect(templateImages('Job', scheduled, owners)).toEqual([reports]);
    expect(templateImages('Job', standalone, owners)).toEqual([
      { image: `${ECR}/batch/backfill:2026-11-19`, namespace: 'batch', workload: 'Job/backfill' },
    ]);
  });
});
