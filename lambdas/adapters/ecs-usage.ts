import {
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  type Failure,
  ListClustersCommand,
  ListServicesCommand,
  ListTasksCommand,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import type { Sighting } from '../core/model';
import { AwsUsageCalls, isAwsError, settleAll } from './aws-usage-calls';
import { EcsTaskDefinitions, lastSegment, type TaskDefinitionImages } from './ecs-task-definitions';
import { AwsUsageReadError } from './errors';
import type { ScheduledTask } from './scheduled-tasks';
import { ECS_USAGE_CLUSTER, imageSightings, type Workload } from './workload-sightings';

const LIST_PAGE = 100;
const DESCRIBE_TASKS_LIMIT = 100;
const DESCRIBE_SERVICES_LIMIT = 10;
const DESCRIBE_SERVICE_REVISIONS_LIMIT = 20;
/**
 * ECS's answer for a task definition that was deleted, or deregistered and referenced by no task
 * or service (ClientException): no run can start from it.
 */
const CANNOT_DESCRIBE = /Unable to describe task definition/i;
/** A cluster deleted between ListClusters and the calls about it runs nothing any more. */
const CLUSTER_GONE = ['ClusterNotFoundException'];

export interface EcsUsageOptions {
  readonly client: ECSClient;
  /** The `observedAt` of every sighting. */
  readonly now: Date;
  /** ECS requests in flight at once. @default 4 */
  readonly concurrency?: number;
  /** The ECS tasks that EventBridge rules and schedules start (`readScheduledTasks`). @default none */
  readonly scheduledTasks?: () => Promise<readonly ScheduledTask[]>;
}

/**
 * What ECS runs or will run in the client's account and region, as sightings of cluster
 * `aws:ecs`: in every cluster, the containers of running tasks (`image` and `imageDigest`), and
 * every container image of the task definitions of active and draining services (the service's
 * own, its deployments' and its task sets', so an older deployment still rolling out or a
 * rollback target is kept), and the digests its current service revisions resolved their images
 * to: ECS starts every later task of a revision from that digest, so a service scaled to zero, or
 * one whose tasks are all pending, still needs it after its tag has moved on. Services come
 * before tasks, so that an image a service runs is reported as the service's. Then every
 * container image of the task definitions that `scheduledTasks` names (a family without a
 * revision resolved to its latest ACTIVE revision), so that a job that runs once a week keeps
 * its image between runs.
 */
export function readEcsUsage(options: EcsUsageOptions): Promise<Sighting[]> {
  return new EcsUsageReader(options).read();
}

class EcsUsageReader {
  private readonly calls: AwsUsageCalls;
  private readonly taskDefinitions: EcsTaskDefinitions;

  constructor(private readonly options: EcsUsageOptions) {
    this.calls = new AwsUsageCalls('ecs', options.concurrency);
    this.taskDefinitions = new EcsTaskDefinitions(options.client, this.calls);
  }

  /** Clusters and scheduled tasks side by side, so that one run names every missing permission. */
  async read(): Promise<Sighting[]> {
    const [perCluster, scheduled] = await settleAll([this.clusterSightings(), this.scheduledSightings()]);
    return [...(perCluster ?? []), ...(scheduled ?? [])];
  }

  private async clusterSightings(): Promise<Sighting[]> {
    const { client } = this.options;
    const clusterArns = await this.calls.listAll(
      'ListClusters',
      undefined,
      (nextToken) => client.send(new ListClustersCommand({ maxResults: LIST_PAGE, nextToken })),
      (page) => ({ items: page.clusterArns, next: page.nextToken }),
    );
    const perCluster = await settleAll(clusterArns.map((arn) => this.readCluster(arn)));
    return perCluster.flat();
  }

  /** The images of the task definitions that EventBridge rules and schedules start. */
  private async scheduledSightings(): Promise<Sighting[]> {
    const tasks = (await this.options.scheduledTasks?.()) ?? [];
    const perTask = await settleAll(
      tasks.map(async ({ taskDefinition, scheduledBy }) => {
        let definition: TaskDefinitionImages;
        try {
          definition = await this.taskDefinitions.imagesOf(taskDefinition);
        } catch (error) {
          // Deleted, or deregistered with nothing running it: ECS cannot start it, so it needs no image.
          if (
            isAwsError(error, ['ClientException']) &&
            CANNOT_DESCRIBE.test(String((error as Error).cause))
          ) {
            return [];
          }
          throw new AwsUsageReadError(
            `${(error as Error).message} (the task definition ${taskDefinition} scheduled by ${scheduledBy})`,
            { cause: error },
          );
        }
        const workload = this.workload(`ECS task definition ${definition.name}, scheduled by ${scheduledBy}`);
        return definition.images.flatMap((image) => imageSightings(workload, { image }));
      }),
    );
    return perTask.flat();
  }

  private async readCluster(clusterArn: string): Promise<Sighting[]> {
    const cluster = lastSegment(clusterArn);
    const [services, tasks] = await settleAll([
      this.serviceSightings(clusterArn, cluster),
      this.taskSightings(clusterArn, cluster),
    ]);
    return [...(services ?? []), ...(tasks ?? [])];
  }

  private async serviceSightings(clusterArn: string, cluster: string): Promise<Sighting[]> {
    const { client } = this.options;
    const arns = await this.unlessClusterGone(() =>
      this.calls.listAll(
        'ListServices',
        `cluster ${cluster}`,
        (nextToken) =>
          client.send(new ListServicesCommand({ cluster: clusterArn, maxResults: LIST_PAGE, nextToken })),
        (page) => ({ items: page.serviceArns, next: page.nextToken }),
      ),
    );
    const batches = await settleAll(
      chunks(arns, DESCRIBE_SERVICES_LIMIT).map(async (batch) => {
        const answer = await this.calls.call('DescribeServices', `cluster ${cluster}`, () =>
          client.send(new DescribeServicesCommand({ cluster: clusterArn, services: batch })),
        );
        const services = answer.services ?? [];
        checkAnswered(
          'DescribeServices',
          cluster,
          batch,
          services.map((s) => s.serviceArn),
          answer.failures,
        );
        return services;
      }),
    );
    const active = batches.flat().filter((service) => service.status !== 'INACTIVE');
    const [definitions, revisions] = await settleAll([
      settleAll(active.map((service) => this.serviceImages(cluster, service))).then((all) => all.flat()),
      this.revisionSightings(cluster, active),
    ]);
    return [...(definitions ?? []), ...(revisions ?? [])];
  }

  /**
   * The images of the current service revisions of `services`, as ECS resolved them (tag and
   * digest), 20 revisions a call. A revision ECS reports `MISSING` is gone (its service was
   * updated meanwhile); any other failure fails the reading, as for services and tasks.
   */
  private async revisionSightings(cluster: string, services: readonly Service[]): Promise<Sighting[]> {
    const serviceOf = new Map<string, string>();
    for (const service of services) {
      const name = service.serviceName ?? lastSegment(service.serviceArn ?? 'unnamed');
      for (const revision of service.currentServiceRevisions ?? []) {
        if (revision.arn) serviceOf.set(revision.arn, name);
      }
    }
    const batches = await settleAll(
      chunks([...serviceOf.keys()], DESCRIBE_SERVICE_REVISIONS_LIMIT).map(async (batch) => {
        const answer = await this.calls.call('DescribeServiceRevisions', `cluster ${cluster}`, () =>
          this.options.client.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: batch })),
        );
        const revisions = answer.serviceRevisions ?? [];
        checkAnswered(
          'DescribeServiceRevisions',
          cluster,
          batch,
          revisions.map((revision) => revision.serviceRevisionArn),
          answer.failures,
          // ECS cannot describe a revision made before October 25, 2024; a new deployment makes one.
          '; if the service was last deployed before October 25, 2024, deploy it again (aws ecs update-service --force-new-deployment) so that ECS can describe its revision',
        );
        return revisions;
      }),
    );
    return batches.flat().flatMap((revision) => {
      const arn = revision.serviceRevisionArn ?? 'unnamed';
      const workload = this.workload(
        `ECS service ${serviceOf.get(arn) ?? '?'} in cluster ${cluster} (service revision ${lastSegment(arn)})`,
      );
      return (revision.containerImages ?? [])
        .filter((image) => image.image || image.imageDigest)
        .flatMap((image) => imageSightings(workload, { image: image.image, digest: image.imageDigest }));
    });
  }

  private async serviceImages(cluster: string, service: Service): Promise<Sighting[]> {
    const name = service.serviceName ?? lastSegment(service.serviceArn ?? 'unnamed');
    const arns = new Set<string>();
    for (const arn of [
      service.taskDefinition,
      ...(service.deployments ?? []).map((deployment) => deployment.taskDefinition),
      ...(service.taskSets ?? []).map((taskSet) => taskSet.taskDefinition),
    ]) {
      if (arn) arns.add(arn);
    }
    const perDefinition = await settleAll(
      [...arns].map(async (arn) => {
        const workload = this.workload(
          `ECS service ${name} in cluster ${cluster} (task definition ${lastSegment(arn)})`,
        );
        const { images } = await this.taskDefinitions.imagesOf(arn);
        return images.flatMap((image) => imageSightings(workload, { image }));
      }),
    );
    return perDefinition.flat();
  }

  private async taskSightings(clusterArn: string, cluster: string): Promise<Sighting[]> {
    const { client } = this.options;
    const arns = await this.unlessClusterGone(() =>
      this.calls.listAll(
        'ListTasks',
        `cluster ${cluster}`,
        (nextToken) =>
          client.send(
            new ListTasksCommand({
              cluster: clusterArn,
              desiredStatus: 'RUNNING',
              maxResults: LIST_PAGE,
              nextToken,
            }),
          ),
        (page) => ({ items: page.taskArns, next: page.nextToken }),
      ),
    );
    const batches = await settleAll(
      chunks(arns, DESCRIBE_TASKS_LIMIT).map(async (batch) => {
        const answer = await this.calls.call('DescribeTasks', `cluster ${cluster}`, () =>
          client.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: batch })),
        );
        const tasks = answer.tasks ?? [];
        checkAnswered(
          'DescribeTasks',
          cluster,
          batch,
          tasks.map((task) => task.taskArn),
          answer.failures,
        );
        return tasks;
      }),
    );
    return (await settleAll(batches.flat().map((task) => this.runningTask(cluster, task)))).flat();
  }

  /** A running task's containers; a container that does not say its image yet is read from the task definition. */
  private async runningTask(cluster: string, task: Task): Promise<Sighting[]> {
    const name = `running ECS task ${lastSegment(task.taskArn ?? 'unnamed')} in cluster ${cluster}`;
    const containers = task.containers ?? [];
    const told = containers.filter((container) => container.image || container.imageDigest);
    const sightings = told.flatMap((container) =>
      imageSightings(this.workload(name), { image: container.image, digest: container.imageDigest }),
    );
    if (told.length > 0 && told.length === containers.length) return sightings;
    const definition = task.taskDefinitionArn;
    if (!definition) {
      throw new AwsUsageReadError(`${name} names neither its containers' images nor its task definition`);
    }
    const workload = this.workload(`${name} (task definition ${lastSegment(definition)})`);
    const { images } = await this.taskDefinitions.imagesOf(definition);
    return [...sightings, ...images.flatMap((image) => imageSightings(workload, { image }))];
  }

  private async unlessClusterGone(list: () => Promise<string[]>): Promise<string[]> {
    try {
      return await list();
    } catch (error) {
      if (isAwsError(error, CLUSTER_GONE)) return [];
      throw error;
    }
  }

  private workload(workload: string): Workload {
    return { cluster: ECS_USAGE_CLUSTER, workload, observedAt: this.options.now };
  }
}

/**
 * Checks that ECS answered for every ARN asked about: a `MISSING` failure means the task,
 * service or revision is gone (it runs nothing); any other failure, or silence, leaves a doubt.
 */
function checkAnswered(
  operation: string,
  cluster: string,
  requested: readonly string[],
  answered: readonly (string | undefined)[],
  failures: readonly Failure[] | undefined,
  hint = '',
): void {
  const accounted = new Set(answered);
  for (const failure of failures ?? []) {
    if (failure.reason !== 'MISSING') {
      const detail = failure.detail ? ` (${failure.detail})` : '';
      throw new AwsUsageReadError(
        `ecs:${operation} on cluster ${cluster} failed for ${failure.arn ?? 'an unnamed resource'}: ${failure.reason ?? 'no reason given'}${detail}${hint}`,
      );
    }
    accounted.add(failure.arn);
  }
  const unanswered = requested.filter((arn) => !accounted.has(arn));
  if (unanswered.length > 0) {
    throw new AwsUsageReadError(
      `ecs:${operation} on cluster ${cluster} did not answer for ${unanswered.length} of ${requested.length} (first: ${unanswered[0]})`,
    );
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
