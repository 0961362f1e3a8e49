import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CronJob } from 'kubernetes-models/batch/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, ServiceAccount } from 'kubernetes-models/v1';
import { readReporterConfig } from '../../reporter/src/config';
import { POD_RESOURCE, WORKLOAD_RESOURCES } from '../../reporter/src/kube-api';

/** The js-yaml that @kubernetes/client-node depends on (the project has no YAML parser of its own). */
const yaml = createRequire(require.resolve('@kubernetes/client-node'))('js-yaml') as {
  load(text: string): unknown;
  loadAll(text: string): unknown[];
};

const ROOT = join(__dirname, '..', '..');
const MANIFESTS = join(ROOT, 'reporter', 'manifests');
const NAMESPACE = 'registry-janitor';

interface Kustomization {
  namespace: string;
  resources: string[];
  configMapGenerator: { name: string; literals?: string[]; files?: string[] }[];
}
// biome-ignore lint/suspicious/noExplicitAny: manifests are read as plain YAML and checked field by field
type Manifest = any;

const MODEL_CLASSES: Record<string, new (value: Manifest) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Secret': Secret,
  'v1/ConfigMap': ConfigMap,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'batch/v1/CronJob': CronJob,
};

let kustomization: Kustomization;
let resources: Manifest[];
let generated: Manifest[];
const byKind = (kind: string) => resources.filter((resource) => resource.kind === kind);
const one = (kind: string) => {
  const [resource, ...rest] = byKind(kind);
  expect(rest).toEqual([]);
  return resource!;
};

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build-reporter.mjs'], { cwd: ROOT, stdio: 'pipe' });
  kustomization = yaml.load(readFileSync(join(MANIFESTS, 'kustomization.yaml'), 'utf8')) as Kustomization;
  resources = kustomization.resources.flatMap(
    (file) => yaml.loadAll(readFileSync(join(MANIFESTS, file), 'utf8')) as Manifest[],
  );
  generated = kustomization.configMapGenerator.map(generatedConfigMap);
});

/** The ConfigMap kustomize makes from a generator (before it appends the content hash to the name). */
function generatedConfigMap(generator: Kustomization['configMapGenerator'][number]): Manifest {
  const data: Record<string, string> = {};
  for (const literal of generator.literals ?? []) {
    const [key, ...value] = literal.split('=');
    data[key!] = value.join('=');
  }
  for (const file of generator.files ?? []) {
    const [key, path = key] = file.split('=');
    data[key!] = readFileSync(join(MANIFESTS, path!), 'utf8');
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: generator.name, namespace: NAMESPACE },
    data,
  };
}

describe('the reporter manifests', () => {
  it('are valid Kubernetes objects, each checked against its schema', () => {
    expect(kustomization.namespace).toBe(NAMESPACE);
    for (const manifest of [...resources, ...generated]) {
      const Model = MODEL_CLASSES[`${manifest.apiVersion}/${manifest.kind}`];
      expect(Model).toBeDefined();
      expect(() => new Model!(manifest).validate()).not.toThrow();
    }
    expect(resources.map((resource) => resource.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'CronJob',
      'Namespace',
      'Secret',
      'ServiceAccount',
    ]);
  });

  it('keep every namespaced object in the registry-janitor namespace', () => {
    for (const resource of resources.filter(
      (r) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(r.kind),
    )) {
      expect(resource.metadata.namespace).toBe(NAMESPACE);
    }
    expect(one('Namespace').metadata.name).toBe(NAMESPACE);
  });

  it('grant read-only access to exactly the resources the reporter lists', () => {
    const rules = one('ClusterRole').rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const granted = rules.flatMap((rule) =>
      rule.apiGroups.flatMap((group) => rule.resources.map((r) => `${r}.${group}`)),
    );
    const listed = [POD_RESOURCE, ...Object.values(WORKLOAD_RESOURCES)].map(
      (r) => `${r.resource}.${r.group}`,
    );

    expect(granted.sort()).toEqual(listed.sort());
    // list only: the reporter never reads one object by name.
    for (const rule of rules) expect(rule.verbs).toEqual(['list']);
  });

  it('bind the ClusterRole to the service account the CronJob runs as', () => {
    const binding = one('ClusterRoleBinding');
    const account = one('ServiceAccount');

    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: one('ClusterRole').metadata.name,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: account.metadata.name, namespace: NAMESPACE },
    ]);
    expect(podSpec().serviceAccountName).toBe(account.metadata.name);
  });

  it('run the bundle every 5 minutes on the stock node:22-alpine image, one run at a time', () => {
    const cronJob = one('CronJob');
    const [container, ...others] = podSpec().containers;

    expect(cronJob.spec.schedule).toBe('*/5 * * * *');
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
    expect(others).toEqual([]);
    expect(container.image).toBe('node:22-alpine');
    expect(container.command).toEqual([
      'node',
      '/reporter/reporter.js',
      'report',
      '--once',
      '--deadline',
      '200s',
    ]);
    // The reporter gives up a round on its own, before the Job's deadline would kill it. That
    // deadline counts from the Job's start, scheduling and the image pull included (a minute and
    // more on a cold node); the next run starts 300 s after this one.
    const jobDeadline = cronJob.spec.jobTemplate.spec.activeDeadlineSeconds;
    expect(jobDeadline).toBeGreaterThanOrEqual(200 + 80);
    expect(jobDeadline).toBeLessThan(300);
    const bundleVolume = podSpec().volumes.find((volume: Manifest) => volume.configMap);
    expect(container.volumeMounts).toContainEqual({
      name: bundleVolume.name,
      mountPath: '/reporter',
      readOnly: true,
    });
    const bundle = generated.find((configMap) => configMap.metadata.name === bundleVolume.configMap.name);
    expect(Object.keys(bundle?.data ?? {})).toEqual(['reporter.js']);
  });

  it('run as non-root with a read-only root, no privilege escalation, no capabilities and RuntimeDefault seccomp', () => {
    const spec = podSpec();
    const [container] = spec.containers;

    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toEqual(
      expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
    );
    expect(container.resources.limits).toEqual(
      expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
    );
    expect(one('Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('take the endpoint and cluster from a generated ConfigMap and the key from the Secret', () => {
    const env = Object.fromEntries(
      podSpec().containers[0].env.map((variable: Manifest) => [variable.name, variable]),
    );
    const config = generated.find((configMap) => configMap.metadata.name === 'registry-janitor-config');
    const secret = one('Secret');

    for (const name of ['JANITOR_ENDPOINT', 'JANITOR_CLUSTER']) {
      expect(env[name].valueFrom.configMapKeyRef).toEqual({ name: config?.metadata.name, key: name });
      expect(config?.data[name]).toBeDefined();
    }
    expect(env.JANITOR_CLUSTER_KEY.valueFrom.secretKeyRef).toEqual({
      name: secret.metadata.name,
      key: 'JANITOR_CLUSTER_KEY',
    });
    expect(Object.keys(secret.stringData)).toEqual(['JANITOR_CLUSTER_KEY']);
  });

  it('ship placeholders the reporter refuses (exit 2) rather than report under a wrong name', () => {
    const config = generated.find((configMap) => configMap.metadata.name === 'registry-janitor-config')?.data;
    const key = one('Secret').stringData.JANITOR_CLUSTER_KEY;
    const valid = {
      JANITOR_ENDPOINT: 'https://x.example.com',
      JANITOR_CLUSTER: 'c',
      JANITOR_CLUSTER_KEY: 'a'.repeat(64),
    };

    expect(() => readReporterConfig({}, { ...valid, JANITOR_CLUSTER: config.JANITOR_CLUSTER })).toThrow(
      /JANITOR_CLUSTER/,
    );
    expect(() => readReporterConfig({}, { ...valid, JANITOR_ENDPOINT: config.JANITOR_ENDPOINT })).toThrow(
      /JANITOR_ENDPOINT/,
    );
    expect(() => readReporterConfig({}, { ...valid, JANITOR_CLUSTER_KEY: key })).toThrow(
      /JANITOR_CLUSTER_KEY/,
    );
    expect(readFileSync(join(MANIFESTS, 'secret.yaml'), 'utf8')).toContain('registry-janitor cluster-key');
  });

  it('fit the bundle in a ConfigMap that `kubectl apply` can store (its annotation copy is limited to 256 KiB)', () => {
    const bundlePath = join(MANIFESTS, 'dist', 'reporter.js');
    expect(existsSync(bundlePath)).toBe(true);
    expect(readFileSync(bundlePath).length).toBeLessThan(200 * 1024);
    expect(kustomization.configMapGenerator.flatMap((g) => g.files ?? [])).toEqual([
      'reporter.js=dist/reporter.js',
    ]);
  });
});

function podSpec(): Manifest {
  return one('CronJob').spec.jobTemplate.spec.template.spec;
}
