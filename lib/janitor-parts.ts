import type { Duration } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { JanitorAlarms } from './janitor-alarms';
import type { JanitorApi } from './janitor-api';
import type { JanitorFunction } from './janitor-function';
import type { ResolvedJanitorProps } from './registry-janitor-props';

/** The review page (`GET`); digests link to it with `?exp&sig`. */
export const REVIEW_PATH = '/v1/plans/{id}';
/** The approval (`POST`, form-encoded) the review page sends. */
export const APPROVE_PATH = '/v1/plans/{id}/approve';

/** How one janitor function is described (see `JanitorParts.addFunction`). */
export interface JanitorFunctionOptions {
  readonly handler?: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * What the builders of the janitor's parts (the scan, the review page, the deleter) use of the
 * `RegistryJanitor` they belong to. Their resources are created in `scope`, the construct itself,
 * so that they keep the ids they always had.
 */
export interface JanitorParts {
  readonly scope: Construct;
  readonly settings: ResolvedJanitorProps;
  readonly topic: sns.ITopic;
  readonly linkSecret: secretsmanager.Secret;
  /** What the scanner and deleter run with (`SCAN_CONFIG`, JSON). */
  readonly scanConfig: string;
  readonly apiUrl: string;
  readonly api: JanitorApi;
  readonly alarms: JanitorAlarms;
  /** A function with its own role, log group, and the table's name in its environment. */
  addFunction(id: string, entry: string, options: JanitorFunctionOptions): JanitorFunction;
  /**
   * Exactly `actions` on the table, and the use of its key if it has one; with `partitions`, only
   * on items whose `pk` matches one of them (`dynamodb:LeadingKeys`); with `{ writes }`, the write
   * actions only on those items, the reads on any.
   */
  grantTableAccess(
    role: iam.IRole,
    actions: readonly string[],
    partitions?: readonly string[] | { readonly writes: readonly string[] },
  ): void;
  /** `sns:Publish` on the topic, and the use of its key to encrypt. */
  grantPublish(role: iam.IRole): void;
  registerPullTimeExclusion(role: iam.IRole): ecr.CfnPullTimeUpdateExclusion;
}
