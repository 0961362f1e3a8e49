import { getOrCreate } from './collections';
import type { ClusterReport, Sighting } from './model';

/**
 * Sightings arranged for the planner: the newest sighting of each digest and of each
 * `registry/repository:tag`, and which repositories and digests each cluster has reported.
 */
export interface SightingIndex {
  newestByDigest(digest: string): Sighting | undefined;
  /**
   * The newest sighting of `repository:tag` from one of `hosts`; from any host when `hosts` is
   * undefined (the registry's names are unknown: keep rather than miss a sighting).
   */
  newestByTag(repository: string, tag: string, hosts?: ReadonlySet<string>): Sighting | undefined;
  /** Tag sightings of one repository: tag → host → newest sighting; undefined when there are none. */
  tagSightingsOf(repository: string): ReadonlyMap<string, ReadonlyMap<string, Sighting>> | undefined;
  /** Clusters that reported `repository` (by path, from any host) or any of `digests`. */
  clustersReporting(repository: string, digests: Iterable<string>): ReadonlySet<string>;
  /** Each cluster's last report: the newest `observedAt` it sent, or a stored heartbeat. */
  readonly lastReports: ReadonlyMap<string, Date>;
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * Builds the index. `reports` adds heartbeats (a report with no images still proves the
 * cluster is alive); without them a cluster's last report is its newest sighting.
 */
export function indexSightings(
  sightings: readonly Sighting[],
  reports: readonly ClusterReport[] = [],
): SightingIndex {
  const byDigest = new Map<string, Sighting>();
  const byTag = new Map<string, Map<string, Map<string, Sighting>>>();
  const clustersByRepository = new Map<string, Set<string>>();
  const clustersByDigest = new Map<string, Set<string>>();
  const lastReports = new Map<string, Date>();
  const newer = (map: Map<string, Sighting>, key: string, sighting: Sighting) => {
    const current = map.get(key);
    if (!current || current.observedAt.getTime() < sighting.observedAt.getTime()) map.set(key, sighting);
  };
  const note = (key: string, setOf: Map<string, Set<string>>, cluster: string) => {
    const set = getOrCreate(setOf, key, () => new Set());
    set.add(cluster);
  };
  for (const sighting of sightings) {
    const { ref, cluster } = sighting;
    if (ref.digest !== undefined) {
      newer(byDigest, ref.digest, sighting);
      note(ref.digest, clustersByDigest, cluster);
    }
    if (ref.tag !== undefined) {
      const tags = getOrCreate(byTag, ref.repository, () => new Map<string, Map<string, Sighting>>());
      newer(
        getOrCreate(tags, ref.tag, () => new Map()),
        ref.registry,
        sighting,
      );
    }
    if (ref.repository !== '') note(ref.repository, clustersByRepository, cluster);
    noteReport(lastReports, cluster, sighting.observedAt);
  }
  for (const report of reports) noteReport(lastReports, report.cluster, report.lastReportAt);
  return {
    newestByDigest: (digest) => byDigest.get(digest),
    newestByTag(repository, tag, hosts) {
      return newestFromHosts(byTag.get(repository)?.get(tag), hosts);
    },
    tagSightingsOf: (repository) => byTag.get(repository),
    clustersReporting(repository, digests) {
      const found = new Set(clustersByRepository.get(repository) ?? EMPTY);
      for (const digest of digests)
        for (const cluster of clustersByDigest.get(digest) ?? EMPTY) found.add(cluster);
      return found;
    },
    lastReports,
  };
}

function noteReport(lastReports: Map<string, Date>, cluster: string, at: Date): void {
  const current = lastReports.get(cluster);
  if (!current || current.getTime() < at.getTime()) lastReports.set(cluster, at);
}

/** The newest of a tag's sightings from one of `hosts` (any host when undefined). */
export function newestFromHosts(
  byHost: ReadonlyMap<string, Sighting> | undefined,
  hosts: ReadonlySet<string> | undefined,
): Sighting | undefined {
  if (!byHost) return undefined;
  let newest: Sighting | undefined;
  for (const [host, sighting] of byHost) {
    if (hosts && !hosts.has(host)) continue;
    if (!newest || newest.observedAt.getTime() < sighting.observedAt.getTime()) newest = sighting;
  }
  return newest;
}
