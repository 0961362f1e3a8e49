import type { PushedAtSource } from '../core/model';
import { CREATED_ANNOTATION, type ManifestContent, parseCreated } from './oci-manifest';

/** A manifest of a repository, read. */
export interface ListedManifest {
  readonly digest: string;
  readonly content: ManifestContent;
}

/** When a manifest was pushed (as far as the registry tells), and its size. */
export interface Dated {
  readonly pushedAt: Date;
  readonly source: PushedAtSource;
  readonly sizeBytes: number;
}

const UNKNOWN_TIME = new Date(0);

/**
 * Push times and sizes of one repository's manifests, as DESIGN.md settles them for a registry
 * whose API has no push time: an image manifest's is its config's `created` (else its
 * `org.opencontainers.image.created` annotation); an index's is its annotation, else its newest
 * platform child's (attestation manifests ignored). Unknown times are the Unix epoch with source
 * `unknown`. An image's size is its config plus layers; an index's is its largest platform
 * child's (as the ECR fake reports it), so that summing a family does not count layers twice.
 * A time after `latestMs` is not believed (a build machine's clock ahead, a typing error): such an
 * image would stay the newest for years, holding a keep rule's place that the real newest build
 * needs; it counts as unknown, as a missing time does.
 *
 * @param readConfigTime reads an image config's `created`; throws when the config cannot be read
 * @param latestMs the latest credible time (now, and some clock skew)
 */
export async function datePushes(
  entries: ReadonlyMap<string, ListedManifest>,
  readConfigTime: (configDigest: string) => Promise<Date | undefined>,
  latestMs: number,
): Promise<Map<string, Dated>> {
  const credible = (time: Date | undefined) => (time && time.getTime() <= latestMs ? time : undefined);
  const configs = new Map<string, Date | undefined>();
  await Promise.all(
    [...entries.values()].map(async (entry) => {
      if (entry.content.kind !== 'image' || !entry.content.imageConfig) return;
      configs.set(entry.digest, credible(await readConfigTime(entry.content.imageConfig.digest)));
    }),
  );
  const dated = new Map<string, Dated>();
  const visiting = new Set<string>();
  const dateOf = (entry: ListedManifest): Dated => {
    const known = dated.get(entry.digest);
    if (known) return known;
    visiting.add(entry.digest);
    const result =
      entry.content.kind === 'image'
        ? dateImage(entry, configs.get(entry.digest), credible)
        : dateIndex(entry);
    visiting.delete(entry.digest);
    dated.set(entry.digest, result);
    return result;
  };
  const dateIndex = (entry: ListedManifest): Dated => {
    if (entry.content.kind !== 'index') throw new Error('not an index');
    let newest: Dated | undefined;
    let sizeBytes = 0;
    for (const child of entry.content.children) {
      const childEntry = entries.get(child.digest);
      if (!childEntry || child.attestation || visiting.has(child.digest)) continue;
      const childDated = dateOf(childEntry);
      sizeBytes = Math.max(sizeBytes, childDated.sizeBytes);
      if (childDated.source !== 'unknown' && (!newest || childDated.pushedAt > newest.pushedAt))
        newest = childDated;
    }
    const annotated = credible(parseCreated(entry.content.annotations[CREATED_ANNOTATION]));
    if (annotated) return { pushedAt: annotated, source: 'annotation', sizeBytes };
    if (newest) return { pushedAt: newest.pushedAt, source: 'newest-child', sizeBytes };
    return { pushedAt: UNKNOWN_TIME, source: 'unknown', sizeBytes };
  };
  for (const entry of entries.values()) dateOf(entry);
  return dated;
}

function dateImage(
  entry: ListedManifest,
  created: Date | undefined,
  credible: (time: Date | undefined) => Date | undefined,
): Dated {
  const { sizeBytes } = entry.content as Extract<ManifestContent, { kind: 'image' }>;
  if (created) return { pushedAt: created, source: 'config-created', sizeBytes };
  const annotated = credible(parseCreated(entry.content.annotations[CREATED_ANNOTATION]));
  if (annotated) return { pushedAt: annotated, source: 'annotation', sizeBytes };
  return { pushedAt: UNKNOWN_TIME, source: 'unknown', sizeBytes };
}
