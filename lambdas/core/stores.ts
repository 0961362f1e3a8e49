import type { ClusterReport, Sighting } from './model';

/** What recording one report cost, for logs and benchmarks. */
export interface RecordResult {
  /** Distinct sightings in the report. */
  readonly distinct: number;
  /** Sightings written (new, or last seen long enough ago to be worth a write). */
  readonly written: number;
}

/**
 * Where sightings live between a report and a scan. Recording is all or nothing from the
 * reporter's point of view: when it throws, the report must be sent again (repeats are harmless),
 * and the cluster's heartbeat moves only once every sighting of the report is stored.
 */
export interface SightingStore {
  recordReport(report: {
    readonly cluster: string;
    readonly observedAt: Date;
    readonly sightings: readonly Sighting[];
  }): Promise<RecordResult>;
  /** Every sighting of a repository path, from every cluster and host ('' for bare digests). */
  sightingsOf(repository: string): Promise<Sighting[]>;
  /** Each cluster's last report. */
  clusterReports(): Promise<ClusterReport[]>;
}
