import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import type { ClusterReport, ImageRef, Sighting } from '../core/model';
import { SIGHTING_RETENTION_DAYS } from '../core/scan-config';
import type { RecordResult, SightingStore } from '../core/stores';
import { backoff, deleteAll, isConditionFailure, queryAll } from './dynamo-helpers';

const HOUR_MS = 3_600_000;
const DAY_SECONDS = 86_400;
const BATCH_GET_LIMIT = 100;

export interface DynamoSightingStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** A sighting seen again within this time costs no write. @default 1 hour */
  readonly freshForMs?: number;
  /** Sightings expire (DynamoDB TTL) this many days after they were last seen. @default 90 */
  readonly retentionDays?: number;
  /** Concurrent writes of one report. @default 8 */
  readonly concurrency?: number;
}

interface SightingItem {
  readonly pk: string;
  readonly sk: string;
  readonly cluster: string;
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly lastSeen: string;
  readonly namespace?: string;
  readonly workload?: string;
}

/**
 * Sightings in DynamoDB. Items: `REPO#<repository>` / `SIGHT#<cluster>#<registry>#<tag>@<digest>`
 * (one per distinct image a cluster runs) and `CLUSTER` / `<cluster>` (the heartbeat). A report
 * reads its keys first and writes only sightings not seen within `freshForMs`, each with a
 * condition that never moves `lastSeen` backwards; the heartbeat is written last.
 */
export class DynamoSightingStore implements SightingStore {
  private readonly freshForMs: number;
  private readonly retentionSeconds: number;

  constructor(private readonly options: DynamoSightingStoreOptions) {
    this.freshForMs = options.freshForMs ?? HOUR_MS;
    this.retentionSeconds = (options.retentionDays ?? SIGHTING_RETENTION_DAYS) * DAY_SECONDS;
  }

  async recordReport(report: {
    cluster: string;
    observedAt: Date;
    sightings: readonly Sighting[];
    round?: ReportRound;
  }): Promise<RecordResult> {
    const items = new Map<string, SightingItem>();
    for (const sighting of report.sightings) {
      const item = this.toItem(report.cluster, report.observedAt, sighting);
      items.set(`${item.pk}|${item.sk}`, item);
    }
    const heartbeat = { pk: 'CLUSTER', sk: report.cluster };
    const lastSeen = await this.lastSeenOf([heartbeat, ...items.values()]);
    const freshSince = report.observedAt.getTime() - this.freshForMs;
    const stale = [...items.values()].filter((item) => {
      const seen = lastSeen.get(`${item.pk}|${item.sk}`);
      return seen === undefined || Date.parse(seen) < freshSince;
    });
    const repositories = new Set<string>();
    for (const item of items.values()) if (item.repository !== '') repositories.add(item.repository);
    if (stale.length > 0 && !lastSeen.has(`${heartbeat.pk}|${heartbeat.sk}`)) {
      await this.markFirstReport(report.cluster, report.observedAt, repositories);
    }
    const limit = pLimit(this.options.concurrency ?? 8);
    await Promise.all(stale.map((item) => limit(() => this.writeSighting(item))));
    const reported =
      report.round === undefined || report.round.parts === 1
        ? await this.writeHeartbeat(report.cluster, report.observedAt, repositories)
        : await this.writeRoundPart(report.cluster, report.observedAt, report.round, repositories);
    return { distinct: items.size, written: stale.length, reported };
  }

  async sightingsOf(repository: string): Promise<Sighting[]> {
    const items = await queryAll(this.options, `REPO#${repository}`);
    return items.map((item) => fromItem(item as unknown as SightingItem));
  }

  async snapshotFor(repository: string): Promise<{ sightings: Sighting[]; clusterReports: ClusterReport[] }> {
    const clusterReports = await this.clusterReports();
    const [own, bare] = await Promise.all([
      this.sightingsOf(repository),
      repository === '' ? [] : this.sightingsOf(''),
    ]);
    return { sightings: [...own, ...bare], clusterReports };
  }

  async clusterReports(): Promise<ClusterReport[]> {
    const items = await queryAll(this.options, 'CLUSTER');
    return items.map((item) => ({
      cluster: String(item.cluster),
      // A cluster that sent only parts of reports so far has no heartbeat: the newest part dates it.
      ...(item.lastReportAt === undefined
        ? { lastReportAt: new Date(String(item.roundPartAt)), incomplete: true }
        : { lastReportAt: new Date(String(item.lastReportAt)) }),
      ...(item.lastReportAt !== undefined &&
      item.roundPartAt !== undefined &&
      String(item.roundPartAt) > String(item.lastReportAt)
        ? { lastPartAt: new Date(String(item.roundPartAt)) }
        : {}),
      ...(item.repositories instanceof Set
        ? { repositories: [...item.repositories].map(String).sort() }
        : {}),
    }));
  }

  /**
   * Forgets a cluster that is gone for good: every sighting it sent (found by a scan of the
   * table, so that none is missed, whichever repository holds it), then its heartbeat, last, so
   * that a run cut short can be run again. Its repositories are then no longer blocked by its
   * silence. A cluster that reports again is simply known again. Whether the cluster is silent
   * is the caller's to check: retiring one that reports would drop sightings that protect.
   */
  async retireCluster(cluster: string): Promise<{ sightings: number; repositories: number }> {
    const prefix = `SIGHT#${cluster}#`;
    const repositories = new Set<string>();
    let sightings = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.client.send(
        new ScanCommand({
          TableName: this.options.tableName,
          FilterExpression: 'begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':prefix': prefix },
          ProjectionExpression: 'pk, sk, repository',
          ExclusiveStartKey: startKey,
        }),
      );
      const items = page.Items ?? [];
      await deleteAll(
        this.options,
        items.map((item) => ({ pk: item.pk, sk: item.sk })),
      );
      for (const item of items) if (item.repository) repositories.add(String(item.repository));
      sightings += items.length;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    await this.options.client.send(
      new DeleteCommand({ TableName: this.options.tableName, Key: { pk: 'CLUSTER', sk: cluster } }),
    );
    return { sightings, repositories: repositories.size };
  }

  private toItem(cluster: string, observedAt: Date, sighting: Sighting): SightingItem {
    const { ref } = sighting;
    return {
      pk: `REPO#${ref.repository}`,
      sk: `SIGHT#${cluster}#${ref.registry}#${ref.tag ?? ''}@${ref.digest ?? ''}`,
      cluster,
      registry: ref.registry,
      repository: ref.repository,
      ...(ref.tag === undefined ? {} : { tag: ref.tag }),
      ...(ref.digest === undefined ? {} : { digest: ref.digest }),
      lastSeen: observedAt.toISOString(),
      ...(sighting.namespace === undefined ? {} : { namespace: sighting.namespace }),
      ...(sighting.workload === undefined ? {} : { workload: sighting.workload }),
    };
  }

  /**
   * Before the first sightings of a cluster that has no heartbeat item yet: an item that says a
   * report of it has begun (`roundPartAt`) and where from, with no `lastReportAt`. Should the
   * report fail half-way (the ingest answers 503), the sightings already written would otherwise
   * be all the store knows of the cluster, and would date a report that looks whole while the
   * images of its unwritten half go unprotected; with the mark, the cluster is `incomplete` and
   * blocks those repositories until a whole report lands (`retire-cluster` can forget it).
   */
  private async markFirstReport(
    cluster: string,
    observedAt: Date,
    repositories: ReadonlySet<string>,
  ): Promise<void> {
    const { update, names, values } = clusterStamp(cluster, 'roundPartAt', observedAt, repositories);
    // Another report of the cluster may have made the item meanwhile: it needs no mark then.
    await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { pk: 'CLUSTER', sk: cluster },
        UpdateExpression: update,
        ConditionExpression: 'attribute_not_exists(#cluster)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** The `lastSeen` of each item that exists (keyed `pk|sk`; the text `undefined` when it has none). */
  private async lastSeenOf(
    items: readonly { readonly pk: string; readonly sk: string }[],
  ): Promise<Map<string, string>> {
    const seen = new Map<string, string>();
    for (let i = 0; i < items.length; i += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = items
        .slice(i, i + BATCH_GET_LIMIT)
        .map(({ pk, sk }) => ({ pk, sk }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt);
        if (attempt > 8) throw new Error('DynamoDB left keys unprocessed after retries');
        const answer = await this.options.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.options.tableName]: { Keys: keys, ProjectionExpression: 'pk, sk, lastSeen' },
            },
          }),
        );
        for (const item of answer.Responses?.[this.options.tableName] ?? []) {
          seen.set(`${item.pk}|${item.sk}`, String(item.lastSeen));
        }
        keys = answer.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
      }
    }
    return seen;
  }

  private async writeSighting(item: SightingItem): Promise<void> {
    const { pk, sk, ...attributes } = item;
    const names: Record<string, string> = { '#expiresAt': 'expiresAt' };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    // A bare digest names no repository, so the heartbeat cannot keep where it was reported from:
    // its sighting is kept instead (these are rare: a pod started from an image id).
    const expiry = item.repository === '' ? ' REMOVE #expiresAt' : '';
    if (!expiry) {
      values[':expires'] = expiresAt(item.lastSeen, this.retentionSeconds);
      sets.push('#expiresAt = :expires');
    }
    for (const [name, value] of Object.entries(attributes)) {
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { pk, sk },
        UpdateExpression: `SET ${sets.join(', ')}${expiry}`,
        ConditionExpression: 'attribute_not_exists(#lastSeen) OR #lastSeen < :lastSeen',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * Moves the heartbeat forward (never back) and adds `repositories` to those the cluster ever
   * reported from. The set has no expiry, unlike the sightings: a cluster that falls silent keeps
   * blocking those repositories however long it stays silent (DESIGN.md: "every repository it has
   * ever reported an image from"). Bodies of one round share their `observedAt`, so an equal time
   * still adds; an older report, arriving late, adds its repositories alone.
   */
  private async writeHeartbeat(
    cluster: string,
    observedAt: Date,
    repositories: ReadonlySet<string>,
  ): Promise<boolean> {
    const { update, names, values } = clusterStamp(cluster, 'lastReportAt', observedAt, repositories);
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: 'CLUSTER', sk: cluster },
          UpdateExpression: update,
          ConditionExpression: 'attribute_not_exists(#lastReportAt) OR #lastReportAt <= :at',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.addRepositories(cluster, repositories);
      return false;
    }
  }

  /**
   * One part of a report of several bodies. The heartbeat item notes the newest report begun
   * (`round`: its `observedAt`) and the parts of it stored so far (`roundParts`); the part that
   * completes it moves the heartbeat (`writeHeartbeat`). Until then the cluster's last report
   * stays where it was, so a report with a body lost on the way (refused, timed out, a Job killed
   * mid-round) never passes for a whole one: the cluster goes stale and blocks, as if silent. A
   * part of an older report than the one begun, arriving late, adds its repositories alone.
   * Returns whether the heartbeat moved.
   */
  private async writeRoundPart(
    cluster: string,
    observedAt: Date,
    round: ReportRound,
    repositories: ReadonlySet<string>,
  ): Promise<boolean> {
    const names: Record<string, string> = {
      '#cluster': 'cluster',
      '#round': 'round',
      '#parts': 'roundParts',
      '#partAt': 'roundPartAt',
    };
    const values: Record<string, unknown> = {
      ':cluster': cluster,
      ':round': round.key,
      ':part': new Set([round.part]),
      ':at': observedAt.toISOString(),
    };
    let adds = 'ADD #parts :part';
    if (repositories.size > 0) {
      names['#repositories'] = 'repositories';
      values[':repositories'] = repositories;
      adds += ', #repositories :repositories';
    }
    const attempts = [
      // The report is begun: add this part.
      { update: `SET #cluster = :cluster, #partAt = :at ${adds}`, condition: '#round = :round' },
      // No report begun, or an older one: begin this one with this part.
      {
        update: `SET #cluster = :cluster, #partAt = :at, #round = :round, #parts = :part${repositories.size > 0 ? ' ADD #repositories :repositories' : ''}`,
        condition: 'attribute_not_exists(#round) OR #round < :round',
      },
    ];
    // Twice: another part may begin this report between the two attempts.
    for (let pass = 0; pass < 2; pass++) {
      for (const { update, condition } of attempts) {
        let stored: Record<string, unknown> | undefined;
        try {
          const answer = await this.options.client.send(
            new UpdateCommand({
              TableName: this.options.tableName,
              Key: { pk: 'CLUSTER', sk: cluster },
              UpdateExpression: update,
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
              ReturnValues: 'UPDATED_NEW',
            }),
          );
          stored = answer.Attributes;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          continue;
        }
        const parts = stored?.roundParts;
        const whole = parts instanceof Set && parts.size >= round.parts;
        return whole ? this.writeHeartbeat(cluster, observedAt, new Set()) : false;
      }
    }
    await this.addRepositories(cluster, repositories);
    return false;
  }

  /** Adds to the repositories of a heartbeat that is there: not one retired since (see `retireCluster`). */
  private async addRepositories(cluster: string, repositories: ReadonlySet<string>): Promise<void> {
    if (repositories.size === 0) return;
    await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { pk: 'CLUSTER', sk: cluster },
        UpdateExpression: 'ADD #repositories :repositories',
        ConditionExpression: 'attribute_exists(#cluster)',
        ExpressionAttributeNames: { '#repositories': 'repositories', '#cluster': 'cluster' },
        ExpressionAttributeValues: { ':repositories': repositories },
      }),
    );
  }

  /** A write whose condition failed found something newer already there: nothing to do. */
  private async conditional(command: UpdateCommand): Promise<void> {
    try {
      await this.options.client.send(command);
    } catch (error) {
      if (isConditionFailure(error)) return;
      throw error;
    }
  }
}

/**
 * The update of a cluster's item that sets `attribute` (as `#<attribute>`) to `observedAt` and adds
 * `repositories` to those it reported from.
 */
function clusterStamp(
  cluster: string,
  attribute: 'lastReportAt' | 'roundPartAt',
  observedAt: Date,
  repositories: ReadonlySet<string>,
): { update: string; names: Record<string, string>; values: Record<string, unknown> } {
  const names: Record<string, string> = { '#cluster': 'cluster', [`#${attribute}`]: attribute };
  const values: Record<string, unknown> = { ':cluster': cluster, ':at': observedAt.toISOString() };
  let update = `SET #cluster = :cluster, #${attribute} = :at`;
  if (repositories.size > 0) {
    names['#repositories'] = 'repositories';
    values[':repositories'] = repositories;
    update += ' ADD #repositories :repositories';
  }
  return { update, names, values };
}

/** Which part of which report a body is: `key` names the report (its `observedAt`, as sent). */
export interface ReportRound {
  readonly key: string;
  readonly part: number;
  readonly parts: number;
}

function fromItem(item: SightingItem): Sighting {
  const ref: ImageRef = {
    registry: item.registry,
    repository: item.repository,
    ...(item.tag === undefined ? {} : { tag: item.tag }),
    ...(item.digest === undefined ? {} : { digest: item.digest }),
  };
  return {
    cluster: item.cluster,
    ref,
    observedAt: new Date(item.lastSeen),
    ...(item.namespace === undefined ? {} : { namespace: item.namespace }),
    ...(item.workload === undefined ? {} : { workload: item.workload }),
  };
}

function expiresAt(lastSeen: string, retentionSeconds: number): number {
  return Math.floor(Date.parse(lastSeen) / 1000) + retentionSeconds;
}
