import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** A table as the stores use it: one document client, one table name. */
export interface Table {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

const MAX_ATTEMPTS = 9;

/** Waits before the next try of items DynamoDB left unprocessed: 100 ms, 200 ms, ... up to 1 s. */
export function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
}

/**
 * Every item of a partition, all pages; only those whose sort key starts with `sk` when it is a
 * string, or is at least `sk.from`.
 */
export async function queryAll(
  table: Table,
  pk: string,
  sk?: string | { readonly from: string },
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const [condition, values] =
    sk === undefined
      ? ['pk = :pk', { ':pk': pk }]
      : typeof sk === 'string'
        ? ['pk = :pk AND begins_with(sk, :sk)', { ':pk': pk, ':sk': sk }]
        : ['pk = :pk AND sk >= :sk', { ':pk': pk, ':sk': sk.from }];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: startKey,
        // Readers decide deletions from what they read: never from a stale replica.
        ConsistentRead: true,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Puts items 25 a call, retrying what DynamoDB leaves unprocessed; throws when it never goes through. */
export async function putAll(table: Table, items: readonly Record<string, unknown>[]): Promise<void> {
  await writeAll(
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

async function writeAll(table: Table, requests: readonly Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: Record<string, unknown>[] = requests.slice(i, i + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(`DynamoDB left ${pending.length} items unprocessed after retries`);
      if (attempt > 0) await backoff(attempt);
      const answer = await table.client.send(
        new BatchWriteCommand({ RequestItems: { [table.tableName]: pending } }),
      );
      pending = (answer.UnprocessedItems?.[table.tableName] ?? []) as Record<string, unknown>[];
    }
  }
}

/** Deletes items by key, 25 a request, retrying what DynamoDB leaves unprocessed. */
export async function deleteAll(table: Table, keys: readonly Record<string, unknown>[]): Promise<void> {
  await writeAll(
    table,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
}

/** True when a conditional write found the item in another state (someone else got there first). */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** What an UpdateItem changes, and on which condition (the table and key are the caller's). */
export type ItemUpdate = Omit<UpdateCommandInput, 'TableName' | 'Key'>;

/** Updates one item; false when its condition does not hold (another writer got there first). */
export async function conditionalUpdate(
  table: Table,
  key: { readonly pk: string; readonly sk: string },
  update: ItemUpdate,
): Promise<boolean> {
  try {
    await table.client.send(new UpdateCommand({ TableName: table.tableName, Key: key, ...update }));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** The key of a plan's header. */
export const planHeaderKey = (planId: string) => ({ pk: `PLAN#${planId}`, sk: 'META' });

/** Stored pages stay under this many bytes of JSON (DynamoDB items hold 400 KB). */
const PAGE_BYTES = 300_000;

/** A page number as it sorts in a key: `00042`. */
export function pageNumber(page: number): string {
  return String(page).padStart(5, '0');
}

/**
 * Splits items into pages of at most `PAGE_BYTES` of JSON each, counted in UTF-8 bytes as
 * DynamoDB counts an item (a reason in CJK script takes three bytes a character); never splits one item.
 */
export function paginate<T>(items: readonly T[]): T[][] {
  const pages: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (current.length > 0 && size + bytes > PAGE_BYTES) {
      pages.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) pages.push(current);
  return pages;
}
