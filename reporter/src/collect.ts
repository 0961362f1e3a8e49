/**
 * Everything the cluster runs or could run: the pod templates of its workloads (so that one scaled
 * to zero still protects its images) and every pod's containers with the `imageID` it runs.
 */
import { EntrySet, type ImageEntry } from './image-entries';
import { type ListAll, POD_RESOURCE, WORKLOAD_RESOURCES } from './kube-api';
import { OwnerIndex, podImages, templateImages, type WorkloadKind } from './workloads';

/**
 * Listed after the pods, ReplicaSets and Jobs first: their owners (Deployment, CronJob) name the
 * workload of the pods and of their own templates. A ReplicaSet or Job that a rollout or a
 * schedule creates while the lists are read is then listed whenever its pod was.
 */
const WORKLOAD_ORDER: readonly WorkloadKind[] = [
  'ReplicaSet',
  'Job',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'CronJob',
  'ControllerRevision',
];

/** No owners: `podImages` names a pod by its own controller (`ReplicaSet/web-7d4b9c6f8d`). */
const NO_OWNERS = new OwnerIndex();

export interface Collected {
  /** Distinct entries, sorted. */
  readonly entries: readonly ImageEntry[];
  readonly pods: number;
  readonly workloads: Readonly<Record<WorkloadKind, number>>;
}

/**
 * Lists the pods and workloads of every namespace through `listAll` and returns their image
 * entries. A list that fails throws: a report missing a resource must not be sent as complete.
 */
export async function collectImages(listAll: ListAll): Promise<Collected> {
  const owners = new OwnerIndex();
  // Each pod named by its own controller until the owners are known: one entry per controller and
  // image, not per pod.
  const podEntries = new EntrySet();
  const pods = await listAll(POD_RESOURCE, (items) => {
    for (const pod of items) for (const entry of podImages(pod, NO_OWNERS)) podEntries.add(entry);
  });
  const entries = new EntrySet();
  const workloads: Partial<Record<WorkloadKind, number>> = {};
  for (const kind of WORKLOAD_ORDER) {
    workloads[kind] = await listAll(WORKLOAD_RESOURCES[kind], (items) => {
      for (const item of items) {
        owners.record(kind, item);
        for (const entry of templateImages(kind, item, owners)) entries.add(entry);
      }
    });
  }
  for (const entry of podEntries.entries()) {
    entries.add({ ...entry, workload: owners.workloadNamed(entry.namespace, entry.workload) });
  }
  return { entries: entries.entries(), pods, workloads: workloads as Record<WorkloadKind, number> };
}

/** `12 pods, 7 workloads (2 Deployment, 1 StatefulSet, ...)` for the log. */
export function describeCollected(collected: Collected): string {
  const kinds = Object.entries(collected.workloads).filter(([, count]) => count > 0);
  const total = kinds.reduce((sum, [, count]) => sum + count, 0);
  const detail = kinds.map(([kind, count]) => `${count} ${kind}`).join(', ');
  return `${collected.pods} pods, ${total} workloads${detail === '' ? '' : ` (${detail})`}, ${collected.entries.length} image entries`;
}
