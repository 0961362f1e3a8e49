import { isDigest, parseImageReference } from '../core/image-ref';
import type { ImageRef, Sighting } from '../core/model';
import { AwsUsageReadError } from './errors';

/** The "cluster" of sightings read from ECS under `--aws-usage`. */
export const ECS_USAGE_CLUSTER = 'aws:ecs';
/** The "cluster" of sightings read from Lambda under `--aws-usage`. */
export const LAMBDA_USAGE_CLUSTER = 'aws:lambda';

/** Who uses an image, as the core prints it: `kept: image of <workload>`. */
export interface Workload {
  readonly cluster: typeof ECS_USAGE_CLUSTER | typeof LAMBDA_USAGE_CLUSTER;
  /** e.g. `Lambda function api-handler version 14`, `running ECS task 0a1b… in cluster prod`. */
  readonly workload: string;
  readonly observedAt: Date;
}

/**
 * The sightings of what one container of a workload uses: `image` as written (a tag and/or a
 * digest reference) and, when the service reports the digest it resolved, a digest sighting in
 * the same repository. A reference that cannot be parsed is an error, never skipped: the image
 * it names could be one about to be deleted.
 *
 * @example
 * imageSightings(task, { image: '1234.dkr.ecr.us-east-1.amazonaws.com/web:1.4', digest: 'sha256:ab…' });
 * // [tag sighting web:1.4, digest sighting web@sha256:ab…]
 */
export function imageSightings(
  workload: Workload,
  container: { readonly image?: string | undefined; readonly digest?: string | undefined },
): Sighting[] {
  const { image, digest } = container;
  if (image === undefined && digest === undefined) {
    throw new AwsUsageReadError(`${workload.workload} does not say which image it uses`);
  }
  const refs: ImageRef[] = [];
  const named = image === undefined ? undefined : parse(workload, image);
  if (named) refs.push(named);
  if (digest !== undefined && digest !== named?.digest) {
    if (!isDigest(digest)) {
      throw new AwsUsageReadError(
        `${workload.workload} reports image digest '${digest}', which is not a sha256 digest`,
      );
    }
    refs.push(
      named ? { registry: named.registry, repository: named.repository, digest } : parse(workload, digest),
    );
  }
  return refs.map((ref) => ({
    cluster: workload.cluster,
    ref,
    observedAt: workload.observedAt,
    workload: workload.workload,
  }));
}

function parse(workload: Workload, image: string): ImageRef {
  try {
    return parseImageReference(image);
  } catch (error) {
    throw new AwsUsageReadError(
      `${workload.workload} uses image '${image}', which cannot be parsed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
