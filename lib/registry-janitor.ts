import { Duration, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { CLUSTER_REPORT_METRIC, METRICS_NAMESPACE } from '../lambdas/adapters/metrics';
import { JanitorApi } from './janitor-api';
import { JanitorFunction } from './janitor-function';
import { NotificationTopic } from './notification-topic';
import {
  type RegistryJanitorProps,
  type ResolvedJanitorPolicy,
  type ResolvedJanitorProps,
  resolveJanitorProps,
} from './registry-janitor-props';
import type { RepositorySelection } from './repository-selection';

export * from './registry-janitor-props';
export { RepositorySelection } from './repository-selection';

/** The ingest route; reporters append it to the API URL. */
export const SIGHTINGS_PATH = '/v1/sightings';

/**
 * registry-janitor in your own stack: the sightings table, the secrets, the signed ingest API that
 * clusters report to, the notification topic and the alarms. Nothing in it is named, so it can be
 * used more than once in one account, or in one stack.
 *
 * @example
 * new RegistryJanitor(this, 'Janitor', {
 *   repositories: RepositorySelection.named('web', 'build/*'),
 *   notificationEmails: ['platform@example.com'],
 *   clusters: ['prod-eu', 'prod-us'],
 * });
 */
export class RegistryJanitor extends Construct {
  /** Sightings, cluster heartbeats and (later) plans; `pk`/`sk`, TTL on `expiresAt`. */
  readonly table: dynamodb.Table;
  /** The secret each cluster's signing key derives from (`registry-janitor cluster-key`). */
  readonly ingestSecret: secretsmanager.Secret;
  /** The secret review links are signed with. */
  readonly linkSecret: secretsmanager.Secret;
  /** `POST /v1/sightings`. */
  readonly ingestFunction: lambda.IFunction;
  readonly api: apigwv2.HttpApi;
  /** The API's base URL, without a trailing slash: what reporters take as `JANITOR_ENDPOINT`. */
  readonly apiUrl: string;
  /** Digests and alarms go here. */
  readonly topic: sns.ITopic;
  readonly repositories: RepositorySelection;
  readonly policy: ResolvedJanitorPolicy;
  readonly schedule: events.Schedule;
  readonly staleAfterHours: number;
  readonly linkExpiryDays: number;
  readonly awsUsage: boolean;

  private readonly settings: ResolvedJanitorProps;
  private readonly encryptionKey: kms.IKey | undefined;
  private readonly alarmList: cloudwatch.Alarm[] = [];
  /** Later routes (review, approve) are added here. */
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

    const ingest = this.addFunction('Ingest', 'ingest.ts', {
      description: 'registry-janitor ingest: stores the images clusters report (POST /v1/sightings)',
      memorySize: 512,
      timeout: Duration.seconds(15),
      environment: { INGEST_SECRET_ARN: this.ingestSecret.secretArn },
    });
    this.grantTableAccess(ingest.role, ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    this.ingestSecret.grantRead(ingest.role);
    this.ingestFunction = ingest.function;

    this.janitorApi = new JanitorApi(this, 'Api', {
      throttle: this.settings.apiThrottle,
      logRetention: this.settings.logRetention,
      removalPolicy: this.settings.removalPolicy,
    });
    this.janitorApi.addRoute(apigwv2.HttpMethod.POST, SIGHTINGS_PATH, 'Ingest', ingest.function);
    this.api = this.janitorApi.httpApi;
    this.apiUrl = this.janitorApi.url;
    this.createIngestAlarms(ingest.function, this.janitorApi.stage);
  }

  /** The alarms created so far, each notifying the topic. */
  get alarms(): readonly cloudwatch.IAlarm[] {
    return [...this.alarmList];
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

  /**
   * Adds one janitor function (`lambdas/handlers/<entry>`) with its own role and log group. The
   * role may write its logs and nothing else: grant each permission it needs, nothing more. Every
   * function knows the table.
   */
  private addFunction(
    id: string,
    entry: string,
    options: {
      readonly description: string;
      readonly memorySize: number;
      readonly timeout: Duration;
      readonly environment: Readonly<Record<string, string>>;
    },
  ): JanitorFunction {
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

  /** Grants exactly `actions` on the table (no index exists), and the use of its key if it has one. */
  private grantTableAccess(role: iam.IRole, actions: string[]): void {
    this.table.grant(role, ...actions);
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
        'new value, then `registry-janitor cluster-key` for each cluster.',
    });
    return secret;
  }

  private createIngestAlarms(ingest: lambda.IFunction, stage: apigwv2.HttpStage): void {
    this.addAlarm('IngestErrorsAlarm', {
      alarmDescription:
        'registry-janitor: the ingest function failed (crash or timeout): reports may be lost.',
      metric: ingest.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.addAlarm('ApiServerErrorsAlarm', {
      alarmDescription:
        'registry-janitor: the API answered 5xx repeatedly (reports not stored; the clusters retry, then look silent).',
      metric: stage.metricServerError({ period: Duration.minutes(15), statistic: cloudwatch.Stats.SUM }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.addSilenceAlarm('NoClusterReportsAlarm', ingest, undefined);
    for (const cluster of this.settings.clusters) {
      this.addSilenceAlarm(`ClusterSilentAlarm-${cluster}`, ingest, cluster);
    }
  }

  /**
   * "No report for `staleAfterHours`": the ingest writes one `ClusterReport` data point per stored
   * report; hours without any are breaching, so silence is what alarms. Without `cluster`, across
   * all clusters of this janitor.
   */
  private addSilenceAlarm(id: string, ingest: lambda.IFunction, cluster: string | undefined): void {
    const hours = this.staleAfterHours;
    const alarmDescription =
      cluster === undefined
        ? `registry-janitor: no cluster has reported for ${hours} h. Either every reporter is down (their ` +
          'repositories are blocked) or none is installed (then only ECR pull times protect images).'
        : `registry-janitor: cluster ${cluster} has not reported for ${hours} h: deletions are blocked in the ` +
          'repositories it reported from. Check its reporter CronJob and its key.';
    this.addAlarm(
      id,
      {
        alarmDescription,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: CLUSTER_REPORT_METRIC,
          dimensionsMap: {
            FunctionName: ingest.functionName,
            ...(cluster === undefined ? {} : { Cluster: cluster }),
          },
          statistic: cloudwatch.Stats.SUM,
          period: Duration.hours(1),
        }),
        threshold: 1,
        evaluationPeriods: hours,
        datapointsToAlarm: hours,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
      { notifyOk: true },
    );
  }

  private addAlarm(id: string, props: cloudwatch.AlarmProps, options: { notifyOk?: boolean } = {}): void {
    const alarm = new cloudwatch.Alarm(this, id, props);
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    if (options.notifyOk) alarm.addOkAction(action);
    this.alarmList.push(alarm);
  }
}
