/**
 * The domain's data: images as a registry lists them, sightings as clusters report them.
 * Times are `Date`s; the core never reads the clock (callers pass `now`).
 */

/**
 * One manifest in a repository, as the registry adapter lists it. An optional key may be present
 * and undefined: the adapters make every image with all keys (`registryImage`), in one shape.
 */
export interface RegistryImage {
  readonly repository: string;
  /** `sha256:<64 hex>` */
  readonly digest: string;
  readonly tags: readonly string[];
  /** ECR's `imagePushedAt`; on an OCI Distribution registry the config's `created` (see `pushedAtSource`). */
  readonly pushedAt: Date;
  /** Where `pushedAt` came from, for reasons: `registry` (ECR), `config-created`, `annotation`, `newest-child`. */
  readonly pushedAtSource?: PushedAtSource | undefined;
  readonly sizeBytes: number;
  /** Manifest media type (image manifest, index, artifact). */
  readonly mediaType?: string | undefined;
  readonly artifactType?: string | undefined;
  /** ECR `lastRecordedPullTime`, when the registry records one. */
  readonly lastPulledAt?: Date | undefined;
  /** For an index: the manifests it lists. */
  readonly children?: readonly IndexChild[] | undefined;
  /** For a referrer (signature, SBOM, SOCI index): the digest of its subject. */
  readonly subject?: string | undefined;
}

/**
 * Every key of `RegistryImage`, each one present (its value may still be undefined): what
 * `registryImage` takes and makes.
 */
export type RegistryImageFields = { readonly [K in keyof RegistryImage]-?: RegistryImage[K] };

/**
 * A listed image, made by this one literal: every key present (undefined when the registry gave
 * nothing), in one order. Images of one shape share one hidden class in V8, so the planner reads a
 * million of them at sites that stay monomorphic. With keys added only when present, the image
 * kinds (pulled, index, referrer, attestation…) made five or more shapes, each read went through
 * the engine's slow generic lookup, and planning a million images took about a quarter longer.
 * Registry adapters make their images with it.
 */
export function registryImage(image: RegistryImageFields): RegistryImageFields {
  return {
    repository: image.repository,
    digest: image.digest,
    tags: image.tags,
    pushedAt: image.pushedAt,
    pushedAtSource: image.pushedAtSource,
    sizeBytes: image.sizeBytes,
    mediaType: image.mediaType,
    artifactType: image.artifactType,
    lastPulledAt: image.lastPulledAt,
    children: image.children,
    subject: image.subject,
  };
}

export type PushedAtSource = 'registry' | 'config-created' | 'annotation' | 'newest-child' | 'unknown';

/** Whether a push time is really when the image was built (OCI registries record no push): "created". */
export const isCreatedTime = (source: PushedAtSource | undefined): boolean =>
  source === 'config-created' || source === 'annotation' || source === 'newest-child';

export interface IndexChild {
  readonly digest: string;
  /** True for attestation manifests (BuildKit `unknown/unknown`): not a platform a runtime pulls. */
  readonly attestation?: boolean;
}

/** A normalised image reference: registry host, repository path, tag and/or digest. */
export interface ImageRef {
  /** Lowercase registry host with port, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com`, `docker.io`. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** One image seen running (or templated) in a cluster at `observedAt`. */
export interface Sighting {
  readonly cluster: string;
  readonly ref: ImageRef;
  readonly observedAt: Date;
  readonly namespace?: string;
  readonly workload?: string;
}

/** A cluster and the newest `observedAt` it reported. */
export interface ClusterReport {
  readonly cluster: string;
  /** Its last whole report; when `incomplete`, the newest part it sent. */
  readonly lastReportAt: Date;
  /**
   * It sent parts of a report (a report of several bodies) but no whole one yet: it counts as
   * silent, since the parts that did not arrive may name images it runs.
   */
  readonly incomplete?: boolean;
  /**
   * When its newest body arrived, if that is later than `lastReportAt`: a part of a report whose
   * other parts are missing. The cluster is not silent, though its last whole report is older.
   */
  readonly lastPartAt?: Date;
  /**
   * Every repository the cluster has reported an image from, kept for as long as the cluster is
   * (its sightings expire): a stale cluster blocks deletions in each of them.
   */
  readonly repositories?: readonly string[];
}

/** The identity by which a registry deletes a manifest. */
export interface ImageId {
  readonly repository: string;
  readonly digest: string;
}

export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** True when the manifest is an image index / manifest list. */
export function isIndex(image: Pick<RegistryImage, 'mediaType'>): boolean {
  return image.mediaType !== undefined && INDEX_MEDIA_TYPES.has(image.mediaType);
}

/**
 * True when an image's push time cannot be trusted: the registry gave none usable
 * (`pushedAtSource: 'unknown'`) or it is not a valid date. Such an image is never ranked by age
 * and is kept whenever a minimum age applies. `pushedMs`: `pushedAt`'s time, when already read.
 */
export function hasUnknownPushTime(
  image: Pick<RegistryImage, 'pushedAt' | 'pushedAtSource'>,
  pushedMs: number = image.pushedAt.getTime(),
): boolean {
  return isUnknownPushTime(image.pushedAtSource, pushedMs);
}

/** `hasUnknownPushTime` from an image's `pushedAtSource` and its push time in milliseconds. */
export const isUnknownPushTime = (source: PushedAtSource | undefined, pushedMs: number): boolean =>
  source === 'unknown' || Number.isNaN(pushedMs);
