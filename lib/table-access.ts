/**
 * What each janitor function calls on the table, and nothing more: the calls of the stores it
 * uses (`lambdas/adapters/dynamo-sighting-store.ts`, `dynamo-plan-store.ts`). There is no index, so
 * every grant is on the table's ARN alone. `BatchWriteItem` writes only `PutRequest`s.
 */
export const TABLE_ACTIONS = {
  /** `recordReport`: BatchGetItem of known sightings, conditional UpdateItem per sighting and heartbeat. */
  ingest: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
  /**
   * `startScan`: GetItem (plan exists?), PutItem (header, listing entry), UpdateItem (tasks
   * queued); a retry that resumes the fan-out, Query (summaries); with no repository,
   * `assemblePlan`: Query (summaries) and UpdateItem (SCANNING → PENDING); `resumeStaleApprovals`:
   * Query (plans since) and GetItem and Query (each plan, its approval).
   */
  scanSchedule: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  /**
   * `scanRepository`: Query (sightings, heartbeats, stored repositories), BatchWriteItem (candidate
   * pages), PutItem (summary, conditional), GetItem (header); `assemblePlan`: Query and UpdateItem.
   */
  scanWorker: [
    'dynamodb:BatchWriteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ],
  /** The page: GetItem and Query; `approve`: BatchWriteItem (approval pages) and a conditional UpdateItem. */
  review: ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  /**
   * `applyApproval`: GetItem and Query (plan, approval, candidates, sightings), BatchWriteItem
   * (`deleted` outcomes), PutItem (other outcomes, conditional: never over `deleted`),
   * UpdateItem (APPROVED → APPLIED).
   */
  deleter: [
    'dynamodb:BatchWriteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ],
} as const satisfies Record<string, readonly string[]>;

/**
 * The partitions (`pk` values, IAM `StringLike` patterns) the two functions behind the public API
 * may touch, enforced with `dynamodb:LeadingKeys`: a flaw in one of them cannot reach the other's
 * items (a plan's candidates, approvals, outcomes; a cluster's sightings). `REPO#*` also covers
 * `REPO#`, the partition of sightings by bare digest. Checked against what the stores really send
 * in test/integration/table-partitions.test.ts.
 */
export const TABLE_PARTITIONS = {
  /** Sightings (`REPO#<repository>`) and each cluster's heartbeat (`CLUSTER`). */
  ingest: ['REPO#*', 'CLUSTER'],
  /** One plan's header, candidates, approval and outcomes (`PLAN#<id>`). */
  review: ['PLAN#*'],
} as const satisfies Partial<Record<keyof typeof TABLE_ACTIONS, readonly string[]>>;

/** The table actions that write. */
export const TABLE_WRITE_ACTIONS: ReadonlySet<string> = new Set([
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
]);

/**
 * The partitions the functions that read everything may write, enforced with
 * `dynamodb:LeadingKeys` on their write actions (their reads stay unconditioned: a scan reads
 * sightings, heartbeats and plans). The scan worker parses what anyone with push rights can shape
 * (manifests, annotations), and the deleter acts on it: a flaw there cannot rewrite a cluster's
 * heartbeat (which would unblock a silent cluster's repositories) or a sighting. Checked in
 * test/integration/table-partitions.test.ts.
 */
export const TABLE_WRITE_PARTITIONS = {
  /** Plans (`PLAN#<id>`) and the dashboard's list of them (`PLANS`). */
  scanSchedule: ['PLAN#*', 'PLANS'],
  /** A plan's repository summaries, candidates and header. */
  scanWorker: ['PLAN#*'],
  /** A plan's outcomes and status. */
  deleter: ['PLAN#*'],
} as const satisfies Partial<Record<keyof typeof TABLE_ACTIONS, readonly string[]>>;
