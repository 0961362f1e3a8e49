/**
 * What a pod or a pod template runs, and which workload owns it. Kubernetes objects arrive as raw
 * JSON from the list endpoints; every field is read defensively (a missing list is an empty list).
 */
import type { ImageEntry } from './image-entries';

/** The kinds whose pod templates the reporter reads, with their list endpoints. */
export type WorkloadKind =
  | 'Deployment'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'ReplicaSet'
  | 'Job'
  | 'CronJob'
  | 'ControllerRevision';

/**
 * Objects that are themselves owned by the workload a person knows: a Deployment's ReplicaSets, a
 * CronJob's Jobs, a StatefulSet's or DaemonSet's ControllerRevisions.
 */
const INTERMEDIATE_KINDS: ReadonlySet<string> = new Set(['ReplicaSet', 'Job', 'ControllerRevision']);
const MAX_OWNER_DEPTH = 5;

interface OwnerRef {
  readonly kind: string;
  readonly name: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const record = (value: unknown): Record<string, unknown> => (isRecord(value) ? value : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** `metadata.name` and `metadata.namespace` of a raw object. */
export function nameOf(object: unknown): { name?: string; namespace?: string } {
  const metadata = record(record(object).metadata);
  const name = text(metadata.name);
  const namespace = text(metadata.namespace);
  return { ...(name === undefined ? {} : { name }), ...(namespace === undefined ? {} : { namespace }) };
}

/** The controlling owner reference (`controller: true`, else the first), if any. */
export function controllerOf(object: unknown): OwnerRef | undefined {
  const refs = list(record(record(object).metadata).ownerReferences).map(record);
  const ref = refs.find((candidate) => candidate.controller === true) ?? refs[0];
  const kind = text(ref?.kind);
  const name = text(ref?.name);
  return kind !== undefined && name !== undefined ? { kind, name } : undefined;
}

/**
 * Owners of ReplicaSets and Jobs, so that a pod is reported as `Deployment/web` or
 * `CronJob/nightly` rather than by the controller in between.
 */
export class OwnerIndex {
  private readonly owners = new Map<string, OwnerRef>();

  /** Remembers the owner of a listed ReplicaSet or Job (other kinds are not followed). */
  record(kind: WorkloadKind, object: unknown): void {
    if (!INTERMEDIATE_KINDS.has(kind)) return;
    const { name, namespace } = nameOf(object);
    const owner = controllerOf(object);
    if (name !== undefined && owner !== undefined) this.owners.set(`${kind}/${namespace}/${name}`, owner);
  }

  /** `Kind/name` of the workload that owns `kind/name` in `namespace` (itself when unowned). */
  workloadOf(kind: string, namespace: string, name: string): string {
    let current: OwnerRef = { kind, name };
    for (let depth = 0; depth < MAX_OWNER_DEPTH; depth++) {
      const owner = this.owners.get(`${current.kind}/${namespace}/${current.name}`);
      if (owner === undefined) break;
      current = owner;
    }
    return `${current.kind}/${current.name}`;
  }

  /** `workloadOf` for a `Kind/name` (a pod's controller, as `podImages` names it without owners). */
  workloadNamed(namespace: string, workload: string): string {
    const slash = workload.indexOf('/');
    return this.workloadOf(workload.slice(0, slash), namespace, workload.slice(slash + 1));
  }

  get size(): number {
    return this.owners.size;
  }
}

/** The workload of a pod: its controller followed through the index; a bare or static pod is `Pod/name`. */
export function podWorkload(pod: unknown, owners: OwnerIndex): string {
  const { name = '', namespace = '' } = nameOf(pod);
  const owner = controllerOf(pod);
  if (owner === undefined || owner.kind === 'Node') return `Pod/${name}`;
  return owners.workloadOf(owner.kind, namespace, owner.name);
}

const CONTAINER_LISTS = [
  ['containers', 'containerStatuses'],
  ['initContainers', 'initContainerStatuses'],
  ['ephemeralContainers', 'ephemeralContainerStatuses'],
] as const;

/** Every container image of a pod, with the `imageID` its status reports for the same container name. */
export function podImages(pod: unknown, owners: OwnerIndex): ImageEntry[] {
  const { namespace = '' } = nameOf(pod);
  const workload = podWorkload(pod, owners);
  const spec = record(record(pod).spec);
  const status = record(record(pod).status);
  const entries: ImageEntry[] = [];
  for (const [specField, statusField] of CONTAINER_LISTS) {
    const imageIDs = new Map<string, string>();
    for (const containerStatus of list(status[statusField]).map(record)) {
      const name = text(containerStatus.name);
      const imageID = text(containerStatus.imageID);
      if (name !== undefined && imageID !== undefined) imageIDs.set(name, imageID);
    }
    for (const container of list(spec[specField]).map(record)) {
      const image = text(container.image);
      if (image === undefined) continue;
      const imageID = imageIDs.get(text(container.name) ?? '');
      entries.push({ image, ...(imageID === undefined ? {} : { imageID }), namespace, workload });
    }
  }
  return entries;
}

/**
 * The pod template of a workload: `spec.template`; `spec.jobTemplate.spec.template` for a CronJob;
 * `data.spec.template` for a ControllerRevision (a StatefulSet's or DaemonSet's earlier template,
 * kept whole for `kubectl rollout undo`).
 */
function templateOf(kind: WorkloadKind, object: unknown): Record<string, unknown> {
  const spec = record(kind === 'ControllerRevision' ? record(record(object).data).spec : record(object).spec);
  const template = kind === 'CronJob' ? record(record(spec.jobTemplate).spec).template : spec.template;
  return record(record(template).spec);
}

/**
 * The images of a workload's pod template (containers and init containers), so that a workload
 * scaled to zero, a suspended CronJob, or an old ReplicaSet or ControllerRevision kept for
 * rollback protects its images.
 */
export function templateImages(kind: WorkloadKind, object: unknown, owners: OwnerIndex): ImageEntry[] {
  const { name, namespace = '' } = nameOf(object);
  if (name === undefined) return [];
  const workload = owners.workloadOf(kind, namespace, name);
  const podSpec = templateOf(kind, object);
  return [...list(podSpec.containers), ...list(podSpec.initContainers)]
    .map((container) => text(record(container).image))
    .filter((image): image is string => image !== undefined)
    .map((image) => ({ image, namespace, workload }));
}
