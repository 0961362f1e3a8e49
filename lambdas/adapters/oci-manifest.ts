import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { IndexChild } from '../core/model';
import { parseIndexManifest } from './manifest';

/** Manifest media types the Distribution adapter reads. */
export const OCI_MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/**
 * The `Accept` header of every manifest request. Registries answer only the types a client
 * names (Distribution answers 404 for an OCI manifest to a client that does not accept OCI).
 */
export const MANIFEST_ACCEPT = [
  OCI_MEDIA_TYPES.ociIndex,
  OCI_MEDIA_TYPES.dockerManifestList,
  OCI_MEDIA_TYPES.ociManifest,
  OCI_MEDIA_TYPES.dockerManifest,
].join(', ');

/** Config media types whose blob is an image config with `created`. */
const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** The annotation that carries an index's (or an artifact's) creation time. */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

const descriptor = z
  .object({ mediaType: z.string().optional(), digest: z.string(), size: z.number() })
  .loose();
const imageManifest = z.object({
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor).nullish(),
  subject: z.object({ digest: z.string() }).loose().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** What the adapter needs of one manifest. */
export type ManifestContent =
  | {
      readonly kind: 'image';
      readonly mediaType: string;
      readonly artifactType?: string;
      /** The config descriptor, when its blob is an image config (it has `created`). */
      readonly imageConfig?: { readonly digest: string };
      /** Config plus layers. */
      readonly sizeBytes: number;
      readonly subject?: string;
      readonly annotations: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'index';
      readonly mediaType: string;
      readonly artifactType?: string;
      readonly children: readonly IndexChild[];
      readonly subject?: string;
      readonly annotations: Readonly<Record<string, string>>;
    };

/**
 * Reads a manifest's text: an index (Docker manifest list, OCI index) or an image manifest
 * (Docker v2 schema 2, OCI, OCI artifacts). Throws with the reason for anything else (schema 1
 * manifests included: deprecated, and without the config that dates an image).
 */
export function parseManifest(text: string, contentType: string | null): ManifestContent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  const record = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const declared = typeof record.mediaType === 'string' ? record.mediaType : baseType(contentType);
  if (record.schemaVersion === 1 || declared?.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new Error('a schema 1 manifest (deprecated since 2017) is not supported');
  }
  const artifactType = typeof record.artifactType === 'string' ? { artifactType: record.artifactType } : {};
  if (Array.isArray(record.manifests)) {
    const index = parseIndexManifest(text);
    return {
      kind: 'index',
      mediaType: declared ?? OCI_MEDIA_TYPES.ociIndex,
      ...artifactType,
      children: index.children,
      ...(index.subject ? { subject: index.subject } : {}),
      annotations: index.annotations,
    };
  }
  const parsed = imageManifest.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`not an image manifest or index: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
  }
  const { config, layers, subject, annotations } = parsed.data;
  const configType = config.mediaType ?? '';
  const isImageConfig = IMAGE_CONFIG_TYPES.has(configType);
  return {
    kind: 'image',
    mediaType: declared ?? OCI_MEDIA_TYPES.ociManifest,
    ...(parsed.data.artifactType
      ? { artifactType: parsed.data.artifactType }
      : isImageConfig || configType === ''
        ? {}
        : { artifactType: configType }),
    ...(isImageConfig ? { imageConfig: { digest: config.digest } } : {}),
    sizeBytes: config.size + (layers ?? []).reduce((sum, layer) => sum + layer.size, 0),
    ...(subject ? { subject: subject.digest } : {}),
    annotations: annotations ?? {},
  };
}

/** Times before this are not push times (no container image was built before 2013). */
const EARLIEST_PUSH_MS = Date.parse('2000-01-01T00:00:00Z');

/**
 * A time from an image config's `created` or a `created` annotation; undefined when missing,
 * not an RFC 3339 date-time (as the OCI image spec has it), or before 2000: reproducible builds
 * write a fixed time (ko, Jib and Bazel 1970-01-01, Nix 1970-01-01T00:00:01, cosign signatures
 * 0001-01-01) that says nothing of when the image was pushed. `Date.parse` is not used: it reads
 * almost any text with a number in it as a date (`1.2.3` is 2003-01-02, `build 7` 2001-07-01),
 * which would make a new image look years old.
 */
export function parseCreated(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = rfc3339Ms(value);
  return ms === undefined || ms < EARLIEST_PUSH_MS ? undefined : new Date(ms);
}

/** RFC 3339 `date-time`: a full date, a full time with an optional fraction, and a zone. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** The time `text` names in milliseconds, when it is an RFC 3339 date-time of a real day. */
function rfc3339Ms(text: string): number | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  // A leap second (60) is read as the last millisecond of its minute.
  if (month < 1 || month > 12 || day < 1 || day > lastDay || hour > 23 || minute > 59 || second > 60) {
    return undefined;
  }
  const [, , , , , , , fraction, sign, offsetHours, offsetMinutes] = match;
  let offsetMs = 0;
  if (sign !== undefined) {
    if (Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return undefined;
    offsetMs = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  }
  const ms = second === 60 ? 999 : Math.floor(Number(`0.${fraction ?? '0'}`) * 1000);
  return Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), ms) - offsetMs;
}

/** The `created` of an image config blob's text, as {@link parseCreated} reads it. */
export function configCreated(text: string): Date | undefined {
  try {
    return parseCreated((JSON.parse(text) as { created?: unknown }).created);
  } catch {
    return undefined;
  }
}

/** True when `bytes` hash to `digest` (`sha256:` or `sha512:`); false for other algorithms. */
export function matchesDigest(bytes: Buffer, digest: string): boolean {
  const [algorithm, hex] = digest.split(':');
  if ((algorithm !== 'sha256' && algorithm !== 'sha512') || hex === undefined) return false;
  return createHash(algorithm).update(bytes).digest('hex') === hex;
}

/** The `sha256:` digest of `bytes`. */
export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function baseType(contentType: string | null): string | undefined {
  const type = contentType?.split(';')[0]?.trim();
  return type === '' || type === 'application/json' ? undefined : type;
}
