import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { PlanItem } from '../core/plan';
import type { RepositorySummary } from '../core/plan-summary';
import type { Approval, ImageOutcome } from '../core/review-view';
import type { CandidatePage, PlanRecord, PlanStore } from '../core/stores';
import {
  conditionalUpdate,
  isConditionFailure,
  pageNumber,
  paginate,
  planHeaderKey,
  putAll,
  queryAll,
} from './dynamo-helpers';
import {
  approvePlan,
  finishApply,
  putOutcomes,
  readApproval,
  readOutcomes,
  withdrawApproval,
} from './dynamo-plan-approvals';

const DAY_SECONDS = 86_400;

export interface DynamoPlanStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Plans expire (DynamoDB TTL) this many days after they were created. @default 30 */
  readonly ttlDays?: number;
}

/**
 * Plans in the shared table: `PLAN#<id>` / `META` (header), `REPO#<repository>` (summary),
 * `ITEMS#<repository>#<page>` (candidates as one JSON string, pages of at most ~300 KB), and `PLANS` /
 * `<createdAt>#<id>` (newest-first listing). Every item carries `expiresAt` (TTL).
 */
export class DynamoPlanStore implements PlanStore {
  private readonly ttlSeconds: number;

  constructor(private readonly options: DynamoPlanStoreOptions) {
    this.ttlSeconds = (options.ttlDays ?? 30) * DAY_SECONDS;
  }

  /**
   * When a plan's items expire: `ttlDays` after it was made, and never before its link has been
   * expired for two days, so that an approval made in the link's last hours, and a deletion the
   * next scans start again for it (seven hours later), still find its items.
   */
  private expiryOf(plan: Pick<PlanRecord, 'createdAt' | 'linkExp'>): number {
    return Math.max(
      Math.floor(plan.createdAt.getTime() / 1000) + this.ttlSeconds,
      plan.linkExp + 2 * DAY_SECONDS,
    );
  }

  async createPlan(plan: Parameters<PlanStore['createPlan']>[0]): Promise<boolean> {
    const expiresAt = this.expiryOf(plan);
    const header = {
      ...toStoredRecord({ ...plan, status: plan.status ?? 'SCANNING' }),
      expiresAt,
    };
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { pk: `PLAN#${plan.id}`, sk: 'META', ...header },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    await this.listPlan(plan);
    return true;
  }

  async listPlan(plan: Pick<PlanRecord, 'id' | 'createdAt' | 'linkExp'>): Promise<void> {
    await this.options.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: {
          pk: 'PLANS',
          sk: `${plan.createdAt.toISOString()}#${plan.id}`,
          planId: plan.id,
          expiresAt: this.expiryOf(plan),
        },
      }),
    );
  }

  async getPlan(id: string): Promise<PlanRecord | undefined> {
    const answer = await this.options.client.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: planHeaderKey(id),
        ConsistentRead: true,
      }),
    );
    return answer.Item ? fromStoredRecord(answer.Item) : undefined;
  }

  async putRepositoryPlan(
    planId: string,
    summary: RepositorySummary,
    candidates: readonly PlanItem[],
  ): Promise<boolean> {
    const pk = `PLAN#${planId}`;
    const expiresAt = await this.expiresAtOf(planId);
    const pages = paginate(candidates.map(toStoredItem));
    // Pages go under a key of this attempt, which the summary names if this attempt is the one
    // stored: a redelivered task, or one that died between the pages and the summary, never
    // mixes its pages with the stored attempt's.
    const attempt = randomUUID().replace(/-/g, '').slice(0, 16);
    await putAll(
      this.options,
      pages.map((items, page) => ({
        pk,
        sk: pageKey(summary.repository, page, attempt),
        items: JSON.stringify(items),
        expiresAt,
      })),
    );
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: {
            pk,
            sk: `REPO#${summary.repository}`,
            summary: toStoredSummary(summary),
            pages: pages.length,
            attempt,
            expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async storedRepositories(planId: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': `PLAN#${planId}`, ':prefix': 'REPO#' },
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  async completeScan(
    planId: string,
    totals: { candidates: number; candidateBytes: number },
  ): Promise<boolean> {
    return conditionalUpdate(this.options, planHeaderKey(planId), {
      UpdateExpression: 'SET #status = :pending, candidates = :count, candidateBytes = :bytes',
      ConditionExpression: '#status = :scanning',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':pending': 'PENDING',
        ':scanning': 'SCANNING',
        ':count': totals.candidates,
        ':bytes': totals.candidateBytes,
      },
    });
  }

  async summaries(planId: string): Promise<RepositorySummary[]> {
    const items = await queryAll(this.options, `PLAN#${planId}`, 'REPO#');
    return items.map((item) => fromStoredSummary(item.summary as StoredSummary));
  }

  async candidates(planId: string, repository: string, cursor?: string): Promise<CandidatePage> {
    const page = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(page) || page < 0) throw new RangeError(`invalid page cursor '${cursor}'`);
    // The stored summary says how many pages there are, and of which attempt.
    const stored = await this.options.client.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: { pk: `PLAN#${planId}`, sk: `REPO#${repository}` },
        ProjectionExpression: 'pages, attempt',
        ConsistentRead: true,
      }),
    );
    const pages = Number(stored.Item?.pages ?? 0);
    if (page >= pages) return { items: [] };
    const attempt = typeof stored.Item?.attempt === 'string' ? stored.Item.attempt : undefined;
    const answer = await this.options.client.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: { pk: `PLAN#${planId}`, sk: pageKey(repository, page, attempt) },
        ConsistentRead: true,
      }),
    );
    if (!answer.Item) {
      // The summary names this page: read as empty, it would silently drop the pages after it.
      throw new Error(
        `plan ${planId}: candidate page ${page + 1} of ${pages} of ${repository} is missing from the table`,
      );
    }
    const items = (JSON.parse(String(answer.Item.items)) as StoredItem[]).map(fromStoredItem);
    return page + 1 < pages ? { items, next: String(page + 1) } : { items };
  }

  claimDigest(planId: string, now: Date, staleAfterMs: number): Promise<boolean> {
    return conditionalUpdate(this.options, planHeaderKey(planId), {
      UpdateExpression: 'SET digestClaimedAt = :now',
      ConditionExpression:
        '#status = :pending AND attribute_not_exists(digestSentAt) AND (attribute_not_exists(digestClaimedAt) OR digestClaimedAt < :stale)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':pending': 'PENDING',
        ':now': now.toISOString(),
        ':stale': new Date(now.getTime() - staleAfterMs).toISOString(),
      },
    });
  }

  async releaseDigest(planId: string): Promise<void> {
    // A digest recorded sent meanwhile keeps its claim: nothing to give back.
    await conditionalUpdate(this.options, planHeaderKey(planId), {
      UpdateExpression: 'REMOVE digestClaimedAt',
      ConditionExpression: 'attribute_not_exists(digestSentAt)',
    });
  }

  async markTasksQueued(planId: string, at: Date): Promise<void> {
    await conditionalUpdate(this.options, planHeaderKey(planId), {
      UpdateExpression: 'SET tasksQueuedAt = :at',
      ExpressionAttributeValues: { ':at': at.toISOString() },
    });
  }

  async markDigestSent(planId: string, at: Date): Promise<void> {
    await conditionalUpdate(this.options, planHeaderKey(planId), {
      UpdateExpression: 'SET digestSentAt = :at',
      ExpressionAttributeValues: { ':at': at.toISOString() },
    });
  }

  async recentPlans(limit: number): Promise<PlanRecord[]> {
    const answer = await this.options.client.send(
      new QueryCommand({
        TableName: this.options.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'PLANS' },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    const plans = await Promise.all((answer.Items ?? []).map((item) => this.getPlan(String(item.planId))));
    return plans.filter((plan): plan is PlanRecord => plan !== undefined);
  }

  async plansSince(since: Date): Promise<PlanRecord[]> {
    const plans: PlanRecord[] = [];
    for (const item of await queryAll(this.options, 'PLANS', { from: since.toISOString() })) {
      const plan = await this.getPlan(String(item.planId));
      if (plan) plans.push(plan);
    }
    return plans;
  }

  async approve(planId: string, approval: Approval): Promise<boolean> {
    return approvePlan(this.options, planId, approval, await this.expiresAtOf(planId));
  }

  withdrawApproval(planId: string, approvedAt: Date): Promise<boolean> {
    return withdrawApproval(this.options, planId, approvedAt);
  }

  approval(planId: string): Promise<Approval | undefined> {
    return readApproval(this.options, planId);
  }

  async recordOutcomes(planId: string, outcomes: ReadonlyMap<string, ImageOutcome>): Promise<void> {
    await putOutcomes(this.options, planId, outcomes, await this.expiresAtOf(planId));
  }

  outcomes(planId: string): Promise<Map<string, ImageOutcome>> {
    return readOutcomes(this.options, planId);
  }

  finishApply(planId: string): Promise<boolean> {
    return finishApply(this.options, planId);
  }

  private async expiresAtOf(planId: string): Promise<number> {
    const plan = await this.getPlan(planId);
    if (!plan) throw new Error(`plan ${planId} does not exist`);
    return this.expiryOf(plan);
  }
}

/** A page's key; plans stored before pages were kept per attempt have no attempt in it. */
function pageKey(repository: string, page: number, attempt?: string): string {
  return attempt === undefined
    ? `ITEMS#${repository}#${pageNumber(page)}`
    : `ITEMS#${repository}#${attempt}#${pageNumber(page)}`;
}

type StoredItem = Omit<PlanItem, 'pushedAt'> & { readonly pushedAt: string };
/** A `StaleCluster` as stored: its times as ISO strings (the document client refuses a `Date`). */
interface StoredStaleCluster {
  readonly cluster: string;
  readonly lastReportAt: string;
  readonly incomplete?: boolean;
  readonly lastPartAt?: string;
}

type StoredSummary = Omit<RepositorySummary, 'blockedBy'> & {
  readonly blockedBy: readonly StoredStaleCluster[];
};

function toStoredItem(item: PlanItem): StoredItem {
  return { ...item, pushedAt: item.pushedAt.toISOString() };
}

function fromStoredItem(item: StoredItem): PlanItem {
  return { ...item, pushedAt: new Date(item.pushedAt) };
}

function toStoredSummary(summary: RepositorySummary): StoredSummary {
  return {
    ...summary,
    blockedBy: summary.blockedBy.map(
      ({ cluster, lastReportAt, incomplete, lastPartAt }): StoredStaleCluster => ({
        cluster,
        lastReportAt: lastReportAt.toISOString(),
        ...(incomplete === undefined ? {} : { incomplete }),
        ...(lastPartAt === undefined ? {} : { lastPartAt: lastPartAt.toISOString() }),
      }),
    ),
  };
}

function fromStoredSummary(summary: StoredSummary): RepositorySummary {
  return {
    ...summary,
    blockedBy: summary.blockedBy.map(({ cluster, lastReportAt, incomplete, lastPartAt }) => ({
      cluster,
      lastReportAt: new Date(lastReportAt),
      ...(incomplete === undefined ? {} : { incomplete }),
      ...(lastPartAt === undefined ? {} : { lastPartAt: new Date(lastPartAt) }),
    })),
  };
}

function toStoredRecord(record: PlanRecord): Record<string, unknown> {
  return { ...record, createdAt: record.createdAt.toISOString() };
}

function fromStoredRecord(item: Record<string, unknown>): PlanRecord {
  const {
    createdAt,
    id,
    status,
    totalRepositories,
    linkExp,
    policyHash,
    candidates,
    candidateBytes,
    error,
    digestSentAt,
    tasksQueuedAt,
    repositoriesHash,
  } = item;
  return {
    id: String(id),
    createdAt: new Date(String(createdAt)),
    status: status as PlanRecord['status'],
    totalRepositories: Number(totalRepositories),
    linkExp: Number(linkExp),
    policyHash: String(policyHash),
    ...(candidates === undefined ? {} : { candidates: Number(candidates) }),
    ...(candidateBytes === undefined ? {} : { candidateBytes: Number(candidateBytes) }),
    ...(error === undefined ? {} : { error: String(error) }),
    ...(digestSentAt === undefined ? {} : { digestSentAt: new Date(String(digestSentAt)) }),
    ...(tasksQueuedAt === undefined ? {} : { tasksQueuedAt: new Date(String(tasksQueuedAt)) }),
    ...(repositoriesHash === undefined ? {} : { repositoriesHash: String(repositoriesHash) }),
  };
}
