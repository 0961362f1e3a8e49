import { getOrCreate, keepLatest } from './collections';
import type { ClusterReport, RegistryImage, Sighting } from './model';
import { mayBeOwnHost } from './registry-hosts';
import { digestFingerprints, type StringFilter, stringFilter } from './string-filter';

/**
 * Sightings arranged for the planner: the newest sighting of each digest and of each
 * `registry/repository:tag`, and which repositories and digests each cluster has reported.
 */
export interface SightingIndex {
  /**
   * The sightings that bear on one repository's images, gathered in one pass over them. Tag
   * sightings count unless their host is certainly another registry (`mayBeOwnHost`); from any
   * host when `hosts` is undefined (the registry's names are unknown: keep rather than miss one).
   * `prints`: the images' digest fingerprints (`digestFingerprints`), when known.
   */
  forRepository(
    repository: string,
    images: readonly RegistryImage[],
    hosts: ReadonlySet<string> | undefined,
    prints?: Int32Array,
  ): RepositorySightings;
  /**
   * Each cluster's last report: its heartbeat (`reports`); for a cluster with none, the newest
   * `observedAt` of its sightings.
   */
  readonly lastReports: ReadonlyMap<string, Date>;
  /** The clusters that sent parts of reports but no whole one (`ClusterReport.incomplete`). */
  readonly incomplete: ReadonlySet<string>;
  /** When a part of a report newer than a cluster's last whole one arrived (`ClusterReport.lastPartAt`). */
  readonly lastParts: ReadonlyMap<string, Date>;
}

/** The sightings of one repository's images; most images have none. */
export interface RepositorySightings {
  /**
   * The newest sighting of each listed image whose digest was sighted (in any repository), by
   * image object: a lookup by an image that is not a key returns without comparing digests.
   */
  readonly byImage: ReadonlyMap<RegistryImage, Sighting>;
  /** How many tags of the repository were sighted from one of the registry's hosts. */
  readonly sightedTags: number;
  /** The newest sighting of `tag` in the repository, from one of the registry's hosts. */
  newestByTag(tag: string): Sighting | undefined;
  /** Clusters that reported the repository (by path, from any host) or any of its digests. */
  readonly clusters: ReadonlySet<string>;
}

/** Who saw one digest: its newest sighting and every cluster that reported it. */
interface DigestSightings {
  newest: Sighting;
  /** Each cluster once; a digest is reported by a few clusters at most, so a list beats a set. */
  readonly clusters: string[];
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * Builds the index. `reports` adds heartbeats (a report with no images still proves the
 * cluster is alive) and the repositories each cluster ever reported from. A cluster's heartbeat
 * is its last report, whatever its sightings say: the sightings of a report whose other parts
 * never arrived must not make it look alive. Without a heartbeat, a cluster's last report is its
 * newest sighting.
 */
export function indexSightings(
  sightings: readonly Sighting[],
  reports: readonly ClusterReport[] = [],
): SightingIndex {
  const byDigest = new Map<string, DigestSightings>();
  const byTag = new Map<string, Map<string, Map<string, Sighting>>>();
  const clustersByRepository = new Map<string, Set<string>>();
  const lastReports = new Map<string, Date>();
  // A cluster's last whole report; for one that sent only parts, its newest part.
  const whole = new Map<string, Date>();
  const parts = new Map<string, Date>();
  const lastParts = new Map<string, Date>();
  for (const report of reports) {
    keepLatest(report.incomplete === true ? parts : whole, report.cluster, report.lastReportAt);
    if (report.lastPartAt) keepLatest(lastParts, report.cluster, report.lastPartAt);
  }
  const heartbeats = new Map(parts);
  for (const [cluster, at] of whole) heartbeats.set(cluster, at);
  // Consecutive sightings mostly come from one report: one cluster, one repository at a time.
  let lastRepository: string | undefined;
  let repositoryClusters: Set<string> | undefined;
  let lastCluster: string | undefined;
  for (const sighting of sightings) {
    const { ref, cluster } = sighting;
    if (ref.digest !== undefined) noteDigest(byDigest, ref.digest, sighting);
    if (ref.tag !== undefined) noteTag(byTag, ref, sighting);
    if (ref.repository !== '') {
      if (ref.repository !== lastRepository) {
        lastRepository = ref.repository;
        repositoryClusters = getOrCreate(clustersByRepository, ref.repository, newSet);
        lastCluster = undefined;
      }
      if (cluster !== lastCluster) {
        repositoryClusters!.add(cluster);
        lastCluster = cluster;
      }
    }
    if (!heartbeats.has(cluster)) keepLatest(lastReports, cluster, sighting.observedAt);
  }
  for (const [cluster, at] of heartbeats) lastReports.set(cluster, at);
  for (const report of reports) {
    for (const repository of report.repositories ?? [])
      getOrCreate(clustersByRepository, repository, newSet).add(report.cluster);
  }
  const sighted = stringFilter(byDigest.keys(), byDigest.size);
  return {
    forRepository(repository, images, hosts, prints) {
      const clusters = new Set(clustersByRepository.get(repository) ?? EMPTY);
      const tags = tagSightingsFrom(byTag.get(repository), hosts);
      const tagged = stringFilter(tags.keys(), tags.size);
      return {
        byImage:
          byDigest.size === 0
            ? new Map()
            : digestSightingsOf(
                images,
                prints ?? digestFingerprints(images),
                { byDigest, sighted },
                clusters,
              ),
        sightedTags: tags.size,
        newestByTag: (tag) => (tagged.mayHave(tag) ? tags.get(tag) : undefined),
        clusters,
      };
    },
    lastReports,
    incomplete: new Set([...parts.keys()].filter((cluster) => !whole.has(cluster))),
    lastParts,
  };
}

function noteDigest(byDigest: Map<string, DigestSightings>, digest: string, sighting: Sighting): void {
  const seen = byDigest.get(digest);
  if (!seen) {
    byDigest.set(digest, { newest: sighting, clusters: [sighting.cluster] });
    return;
  }
  if (seen.newest.observedAt.getTime() < sighting.observedAt.getTime()) seen.newest = sighting;
  if (!seen.clusters.includes(sighting.cluster)) seen.clusters.push(sighting.cluster);
}

const newSet = () => new Set<string>();
const newMap = <V>() => new Map<string, V>();

function noteTag(
  byTag: Map<string, Map<string, Map<string, Sighting>>>,
  ref: Sighting['ref'],
  sighting: Sighting,
): void {
  const tags = getOrCreate(byTag, ref.repository, newMap<Map<string, Sighting>>);
  newer(getOrCreate(tags, ref.tag!, newMap<Sighting>), ref.registry, sighting);
}

function newer(map: Map<string, Sighting>, key: string, sighting: Sighting): void {
  const current = map.get(key);
  if (!current || current.observedAt.getTime() < sighting.observedAt.getTime()) map.set(key, sighting);
}

/** The sighted images among `images`; adds the clusters that sighted them. */
function digestSightingsOf(
  images: readonly RegistryImage[],
  prints: Int32Array,
  digests: { readonly byDigest: ReadonlyMap<string, DigestSightings>; readonly sighted: StringFilter },
  clusters: Set<string>,
): Map<RegistryImage, Sighting> {
  const sighted = new Map<RegistryImage, Sighting>();
  for (let i = 0; i < images.length; i++) {
    if (!digests.sighted.mayHaveFingerprint(prints[i]!)) continue;
    const image = images[i]!;
    const seen = digests.byDigest.get(image.digest);
    if (seen === undefined) continue;
    sighted.set(image, seen.newest);
    for (const cluster of seen.clusters) clusters.add(cluster);
  }
  return sighted;
}

/** tag → the newest sighting from one of `hosts`, for tags sighted from any of them. */
function tagSightingsFrom(
  tags: ReadonlyMap<string, ReadonlyMap<string, Sighting>> | undefined,
  hosts: ReadonlySet<string> | undefined,
): Map<string, Sighting> {
  const newest = new Map<string, Sighting>();
  if (!tags) return newest;
  for (const [tag, byHost] of tags) {
    const sighting = newestFromHosts(byHost, hosts);
    if (sighting) newest.set(tag, sighting);
  }
  return newest;
}

/**
 * The newest of a tag's sightings from a host that may be the registry's (one of `hosts`, or a
 * name it could also be reached by; any host when `hosts` is undefined): see `mayBeOwnHost`.
 */
export function newestFromHosts(
  byHost: ReadonlyMap<string, Sighting> | undefined,
  hosts: ReadonlySet<string> | undefined,
): Sighting | undefined {
  if (!byHost) return undefined;
  let newest: Sighting | undefined;
  for (const [host, sighting] of byHost) {
    if (!mayBeOwnHost(host, hosts)) continue;
    if (!newest || newest.observedAt.getTime() < sighting.observedAt.getTime()) newest = sighting;
  }
  return newest;
}
