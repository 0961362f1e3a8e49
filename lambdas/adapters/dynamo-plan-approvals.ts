import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import type { Approval, ImageOutcome } from '../core/review-view';
import {
  conditionalUpdate,
  isConditionFailure,
  pageNumber,
  paginate,
  planHeaderKey,
  putAll,
  queryAll,
  type Table,
} from './dynamo-helpers';

/**
 * Approvals and outcomes of a plan: `PLAN#<id>` / `APPROVAL#<approvalId>#<page>` (the approved
 * `repository@digest` keys, written before the plan moves to APPROVED, under a fresh id so that a
 * losing concurrent approval never overwrites the winner's list) and `OUT#<repository@digest>`.
 */
export async function approvePlan(
  table: Table,
  planId: string,
  approval: Approval,
  expiresAt: number,
): Promise<boolean> {
  const pk = `PLAN#${planId}`;
  const approvalId = randomUUID();
  const pages = paginate([...approval.approved]);
  await putAll(
    table,
    pages.map((keys, page) => ({
      pk,
      sk: `APPROVAL#${approvalId}#${pageNumber(page)}`,
      keys: JSON.stringify(keys),
      expiresAt,
    })),
  );
  return conditionalUpdate(table, planHeaderKey(planId), {
    UpdateExpression:
      'SET #status = :approved, approvalId = :id, approvalPages = :pages, approvedAt = :at, approvedBy = :by, ignoredImages = :ignored, ignoredCount = :ignoredCount',
    ConditionExpression: '#status = :pending',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':approved': 'APPROVED',
      ':pending': 'PENDING',
      ':id': approvalId,
      ':pages': pages.length,
      ':at': approval.approvedAt.toISOString(),
      ':by': {
        ...(approval.sourceIp ? { sourceIp: approval.sourceIp } : {}),
        ...(approval.userAgent ? { userAgent: approval.userAgent.slice(0, 512) } : {}),
      },
      ':ignored': JSON.stringify(approval.ignored.slice(0, 1000)),
      ':ignoredCount': approval.ignored.length,
    },
  });
}

/**
 * APPROVED back to PENDING, when the plan still holds the approval made at `approvedAt` (its
 * pages are left to expire: a later approval writes its own under a new id).
 */
export function withdrawApproval(table: Table, planId: string, approvedAt: Date): Promise<boolean> {
  return conditionalUpdate(table, planHeaderKey(planId), {
    UpdateExpression:
      'SET #status = :pending REMOVE approvalId, approvalPages, approvedAt, approvedBy, ignoredImages, ignoredCount',
    ConditionExpression: '#status = :approved AND approvedAt = :at',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':approved': 'APPROVED',
      ':pending': 'PENDING',
      ':at': approvedAt.toISOString(),
    },
  });
}

export async function readApproval(table: Table, planId: string): Promise<Approval | undefined> {
  const pk = `PLAN#${planId}`;
  const meta = await table.client.send(
    new GetCommand({ TableName: table.tableName, Key: planHeaderKey(planId), ConsistentRead: true }),
  );
  const item = meta.Item;
  if (!item?.approvalId) return undefined;
  const approved: string[] = [];
  for (const page of await queryAll(table, pk, `APPROVAL#${item.approvalId}#`))
    approved.push(...JSON.parse(String(page.keys)));
  const by = (item.approvedBy ?? {}) as { sourceIp?: string; userAgent?: string };
  return {
    approvedAt: new Date(String(item.approvedAt)),
    ...(by.sourceIp ? { sourceIp: by.sourceIp } : {}),
    ...(by.userAgent ? { userAgent: by.userAgent } : {}),
    approved,
    ignored: JSON.parse(String(item.ignoredImages ?? '[]')),
    ...(typeof item.ignoredCount === 'number' ? { ignoredCount: item.ignoredCount } : {}),
  };
}

/**
 * Writes outcomes. `deleted` is final: two runs of one plan can overlap (Lambda delivers an event
 * at least once), and the one that finds a family it deleted half of would otherwise record
 * `skipped` over what the other deleted. So `deleted` is written as it is, and any other outcome
 * only where the image has no `deleted` outcome yet (a conditional put each: there are few).
 */
export async function putOutcomes(
  table: Table,
  planId: string,
  outcomes: ReadonlyMap<string, ImageOutcome>,
  expiresAt: number,
): Promise<void> {
  const pk = `PLAN#${planId}`;
  const entries = [...outcomes].map(([key, outcome]) => ({
    deleted: outcome.status === 'deleted',
    item: { pk, sk: `OUT#${key}`, outcome: JSON.stringify(outcome), expiresAt },
  }));
  await putAll(
    table,
    entries.filter((entry) => entry.deleted).map((entry) => entry.item),
  );
  const limit = pLimit(8);
  await Promise.all(
    entries
      .filter((entry) => !entry.deleted)
      .map(({ item }) =>
        limit(async () => {
          try {
            await table.client.send(
              new PutCommand({
                TableName: table.tableName,
                Item: item,
                ConditionExpression: 'attribute_not_exists(#outcome) OR NOT begins_with(#outcome, :deleted)',
                ExpressionAttributeNames: { '#outcome': 'outcome' },
                ExpressionAttributeValues: { ':deleted': DELETED_JSON },
              }),
            );
          } catch (error) {
            if (!isConditionFailure(error)) throw error;
          }
        }),
      ),
  );
}

/** How a `deleted` outcome's JSON begins (`{"status":"deleted"}`). */
const DELETED_JSON = JSON.stringify({ status: 'deleted' }).slice(0, -1);

export async function readOutcomes(table: Table, planId: string): Promise<Map<string, ImageOutcome>> {
  const items = await queryAll(table, `PLAN#${planId}`, 'OUT#');
  return new Map(
    items.map((item) => [
      String(item.sk).slice('OUT#'.length),
      JSON.parse(String(item.outcome)) as ImageOutcome,
    ]),
  );
}

export function finishApply(table: Table, planId: string): Promise<boolean> {
  return conditionalUpdate(table, planHeaderKey(planId), {
    UpdateExpression: 'SET #status = :applied, appliedAt = :at',
    ConditionExpression: '#status = :approved',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':applied': 'APPLIED',
      ':approved': 'APPROVED',
      ':at': new Date().toISOString(),
    },
  });
}
