import { Duration, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../lambdas/adapters/metrics';
import { JanitorAlarms } from './janitor-alarms';
import { JanitorApi } from './janitor-api';
import { addDeleter, addReview } from './janitor-deletion';
import { JanitorFunction } from './janitor-function';
import type { JanitorFunctionOptions, JanitorParts } from './janitor-parts';
import { addScanner } from './janitor-scanner';
import { NotificationTopic } from './notification-topic';
import {
  type RegistryJanitorProps,
  type ResolvedJanitorPolicy,
  type ResolvedJanitorProps,
  resolveJanitorProps,
} from './registry-janitor-props';
import type { RepositorySelection } from './repository-selection';
import { scanConfigOf } from './scan-settings';
import { grantSecretValue } from './secret-access';
import { TABLE_ACTIONS, TABLE_PARTITIONS, TABLE_WRITE_ACTIONS } from './table-access';

export * from './registry-janitor-props';
export { RepositorySelection } from './repository-selection';

/** The ingest route; reporters append it to the API URL. */
export const SIGHTINGS_PATH = '/v1/sightings';
export { APPROVE_PATH, REVIEW_PATH } from './janitor-parts';

/**
 * registry-janitor in your own stack: the sightings and plans table, the secrets, the signed ingest
 * API that clusters report to, the scheduled scan (schedule function, SQS fan-out, workers), the
 * review page and the deleter behind it, the notification topic and the alarms. Nothing in it is
 * named, so it can be used more than once in one account, or in one stack.
 *
 * @example
 * new RegistryJanitor(this, 'Janitor', {
 *   repositories: RepositorySelection.named('web', 'build/*'),
 *   notificationEmails: ['platform@example.com'],
 *   clusters: ['prod-eu', 'prod-us'],
 * });
 */
export class RegistryJanitor extends Construct {
  /** Sightings, cluster heartbeats and plans; `pk`/`sk`, TTL on `expiresAt`. */
  readonly table: dynamodb.Table;
  /** The secret each cluster's signing key derives from (`registry-janitor cluster-key`). */
  readonly ingestSecret: secretsmanager.Secret;
  /** The secret review links are signed with. */
  readonly linkSecret: secretsmanager.Secret;
  /** `POST /v1/sightings`. */
  readonly ingestFunction: lambda.IFunction;
  /** Starts each scheduled scan: creates the plan and sends one task per repository to `scanQueue`. */
  readonly scanScheduleFunction: lambda.IFunction;
  /** Plans one repository per task; the last one assembles the plan and mails the digest. */
  readonly scanWorkerFunction: lambda.IFunction;
  /** One message per repository of a scan. */
  readonly scanQueue: sqs.IQueue;
  /** Scan tasks that failed every delivery. */
  readonly scanDeadLetterQueue: sqs.IQueue;
  /** `GET /v1/plans/{id}` and `POST /v1/plans/{id}/approve`. */
  readonly reviewFunction: lambda.IFunction;
  /** Deletes what was approved, after re-checking it; the only function that may delete images. */
  readonly deleterFunction: lambda.IFunction;
  /** Deleter invocations that failed every attempt (its on-failure destination). */
  readonly deletionFailureQueue: sqs.IQueue;
  readonly api: apigwv2.HttpApi;
  /** The API's base URL, without a trailing slash: what reporters take as `JANITOR_ENDPOINT`. */
  readonly apiUrl: string;
  /** Digests and alarms go here. */
  readonly topic: sns.ITopic;
  readonly repositories: RepositorySelection;
  readonly policy: ResolvedJanitorPolicy;
  readonly schedule: events.Schedule;
  /** What the scanner and deleter run with (`SCAN_CONFIG`, JSON). */
  readonly scanConfig: string;
  readonly staleAfterHours: number;
  readonly linkExpiryDays: number;
  readonly awsUsage: boolean;

  private readonly settings: ResolvedJanitorProps;
  private readonly encryptionKey: kms.IKey | undefined;
  private readonly alarmSet: JanitorAlarms;
  private readonly janitorApi: JanitorApi;

  constructor(scope: Construct, id: string, props: RegistryJanitorProps = {}) {
    super(scope, id);
    this.settings = resolveJanitorProps(this, props);
    this.encryptionKey = props.encryptionKey;
    this.repositories = this.settings.repositories;
    this.policy = this.settings.policy;
    this.schedule = this.settings.schedule;
    this.staleAfterHours = this.settings.staleAfterHours;
    this.linkExpiryDays = this.settings.linkExpiryDays;
    this.awsUsage = this.settings.awsUsage;
    this.scanConfig = scanConfigOf(this, this.settings);

    this.table = this.createTable();
    this.ingestSecret = this.createSecret(
      'IngestSecret',
      'derives the key each cluster signs its reports with',
    );
    this.linkSecret = this.createSecret('LinkSecret', 'signs the review links in digests');
    this.topic =
      props.notificationTopic ??
      new NotificationTopic(this, 'Notifications', { removalPolicy: this.settings.removalPolicy }).topic;
    for (const email of this.settings.notificationEmails)
      this.topic.addSubscription(new EmailSubscription(email));
    this.alarmSet = new JanitorAlarms(this, this.topic);

    const ingest = this.addFunction('Ingest', 'ingest.ts', {
      description: 'registry-janitor ingest: stores the images clusters report (POST /v1/sightings)',
      memorySize: 512,
      // Below the HTTP API's 30 s integration timeout. A 1 MiB body names up to ~10,000 sightings,
      // all written again once an hour old (~9 s at 8 writes in flight): 15 s left little room, and
      // a body that times out leaves its report incomplete, the cluster looking silent.
      timeout: Duration.seconds(28),
      environment: { INGEST_SECRET_ARN: this.ingestSecret.secretArn },
    });
    this.grantTableAccess(ingest.role, TABLE_ACTIONS.ingest, TABLE_PARTITIONS.ingest);
    grantSecretValue(this.ingestSecret, ingest.role);
    this.ingestFunction = ingest.function;

    this.janitorApi = new JanitorApi(this, 'Api', {
      throttle: this.settings.apiThrottle,
      logRetention: this.settings.logRetention,
      removalPolicy: this.settings.removalPolicy,
    });
    this.janitorApi.addRoute(
      apigwv2.HttpMethod.POST,
      SIGHTINGS_PATH,
      'Ingest',
      ingest.function,
      'The ingest function authenticates each body before storing anything from it: it parses the body ' +
        'to find its cluster, whose key must verify an HMAC-SHA256 signature over the timestamp and the raw ' +
        'body, compared in constant time and refused beyond 300 s of clock skew.',
    );
    this.api = this.janitorApi.httpApi;
    this.apiUrl = this.janitorApi.url;
    this.alarmSet.forIngest({
      ingest: ingest.function,
      stage: this.janitorApi.stage,
      clusters: this.settings.clusters,
      staleAfterHours: this.staleAfterHours,
    });

    const parts = this.parts();
    const deleter = addDeleter(parts);
    this.deleterFunction = deleter.function;
    this.deletionFailureQueue = deleter.failures;
    this.reviewFunction = addReview(parts, deleter.function);
    const scanner = addScanner(parts, deleter.function);
    this.scanScheduleFunction = scanner.schedule;
    this.scanWorkerFunction = scanner.worker;
    this.scanQueue = scanner.queue;
    this.scanDeadLetterQueue = scanner.deadLetterQueue;
  }

  /** The alarms created so far, each notifying the topic. */
  get alarms(): readonly cloudwatch.IAlarm[] {
    return this.alarmSet.all;
  }

  /**
   * Registers `role` as an ECR pull-time update exclusion: its `BatchGetImage` calls no longer move
   * an image's `lastRecordedPullTime`, so that reading a manifest to learn an index's children is
   * not mistaken for a pull by a runtime. The janitor registers its scanner and deleter; use it for
   * any other role that reads manifests without running them (CI, `registry-janitor gc`).
   */
  registerPullTimeExclusion(role: iam.IRole): ecr.CfnPullTimeUpdateExclusion {
    const id = `PullTimeExclusion${role.node.addr}`;
    const existing = this.node.tryFindChild(id);
    if (existing) return existing as ecr.CfnPullTimeUpdateExclusion;
    return new ecr.CfnPullTimeUpdateExclusion(this, id, { principalArn: role.roleArn });
  }

  /** What the builders of the scan, the review page and the deleter use of this construct. */
  private parts(): JanitorParts {
    return {
      scope: this,
      settings: this.settings,
      topic: this.topic,
      linkSecret: this.linkSecret,
      scanConfig: this.scanConfig,
      apiUrl: this.apiUrl,
      api: this.janitorApi,
      alarms: this.alarmSet,
      addFunction: (id, entry, options) => this.addFunction(id, entry, options),
      grantTableAccess: (role, actions, partitions) => this.grantTableAccess(role, actions, partitions),
      grantPublish: (role) => this.grantPublish(role),
      registerPullTimeExclusion: (role) => this.registerPullTimeExclusion(role),
    };
  }

  /**
   * Adds one janitor function (`lambdas/handlers/<entry>`) with its own role and log group. The
   * role may write its logs and nothing else: grant each permission it needs, nothing more. Every
   * function knows the table.
   */
  private addFunction(id: string, entry: string, options: JanitorFunctionOptions): JanitorFunction {
    return new JanitorFunction(this, id, {
      entry,
      ...options,
      environment: {
        TABLE_NAME: this.table.tableName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...options.environment,
      },
      logRetention: this.settings.logRetention,
      removalPolicy: this.settings.removalPolicy,
    });
  }

  /** `sns:Publish` on the topic, and the use of its key to encrypt (no `kms:GenerateDataKey*`). */
  private grantPublish(role: iam.IRole): void {
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
    });
    this.topic.masterKey?.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
  }

  /**
   * Grants exactly `actions` on the table (no index exists), and the use of its key if it has one.
   * With `partitions`, only on items whose partition key matches one of them: every key a request
   * names must (`ForAllValues`), and no action granted here can name none (no Scan).
   */
  private grantTableAccess(
    role: iam.IRole,
    actions: readonly string[],
    partitions?: readonly string[] | { readonly writes: readonly string[] },
  ): void {
    const within = (granted: readonly string[], keys: readonly string[]) =>
      iam.Grant.addToPrincipal({
        grantee: role,
        actions: [...granted],
        resourceArns: [this.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...keys] } },
      });
    if (partitions === undefined) this.table.grant(role, ...actions);
    else if ('writes' in partitions) {
      const reads = actions.filter((action) => !TABLE_WRITE_ACTIONS.has(action));
      const writes = actions.filter((action) => TABLE_WRITE_ACTIONS.has(action));
      if (reads.length > 0) this.table.grant(role, ...reads);
      if (writes.length > 0) within(writes, partitions.writes);
    } else within(actions, partitions);
    this.encryptionKey?.grant(role, 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey');
  }

  private createTable(): dynamodb.Table {
    return new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      ...(this.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: this.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      removalPolicy: this.settings.removalPolicy,
    });
  }

  /** A random 64-character secret generated by Secrets Manager: its value never enters the template. */
  private createSecret(id: string, purpose: string): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      description: `registry-janitor: ${purpose}`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      ...(this.encryptionKey ? { encryptionKey: this.encryptionKey } : {}),
      removalPolicy: this.settings.removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Not rotated automatically on purpose: the ingest secret derives the key every cluster signs with and ' +
        'the link secret signs review links already mailed, so a silent rotation would lock out every ' +
        'reporter (making clusters look silent) or void pending reviews. Rotation is a planned operation: ' +
        'new value (every function reads it again within 5 minutes), then `registry-janitor cluster-key` ' +
        'for each cluster.',
    });
    return secret;
  }
}
