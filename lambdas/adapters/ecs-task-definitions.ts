import { DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { getOrCreate } from '../core/collections';
import type { AwsUsageCalls } from './aws-usage-calls';
import { AwsUsageReadError } from './errors';

/** The container images of one task definition. */
export interface TaskDefinitionImages {
  /** `family:revision` as ECS described it: a family without a revision resolves to its latest ACTIVE one. */
  readonly name: string;
  readonly images: readonly string[];
}

/**
 * The task definitions of one `--aws-usage` reading, each described once (ecs:DescribeTaskDefinition)
 * by the ARN or name it was asked for: `…:task-definition/web:42` as it is, `…:task-definition/web`
 * (or `web`) as the latest ACTIVE revision of the family at the time of the reading.
 */
export class EcsTaskDefinitions {
  private readonly described = new Map<string, Promise<TaskDefinitionImages>>();

  constructor(
    private readonly client: ECSClient,
    private readonly calls: AwsUsageCalls,
  ) {}

  imagesOf(arn: string): Promise<TaskDefinitionImages> {
    return getOrCreate(this.described, arn, async () => {
      const label = `task definition ${lastSegment(arn)}`;
      const answer = await this.calls.call('DescribeTaskDefinition', label, () =>
        this.client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })),
      );
      const definition = answer.taskDefinition;
      const containers = definition?.containerDefinitions ?? [];
      if (containers.length === 0) throw new AwsUsageReadError(`ECS described ${label} without containers`);
      const images = containers.map((container) => {
        if (!container.image) {
          throw new AwsUsageReadError(`container ${container.name ?? '?'} of ${label} has no image`);
        }
        return container.image;
      });
      const name =
        definition?.family && definition.revision !== undefined
          ? `${definition.family}:${definition.revision}`
          : lastSegment(definition?.taskDefinitionArn ?? arn);
      return { name, images };
    });
  }
}

/** `prod` of `arn:aws:ecs:…:cluster/prod`, `web:42` of `…:task-definition/web:42`, the id of a task ARN. */
export function lastSegment(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}
