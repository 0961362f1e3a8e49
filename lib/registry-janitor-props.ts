import { RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { SIGHTING_RETENTION_DAYS } from '../lambdas/core/scan-config';
import { RegistryJanitorConfigError } from './errors';
import { RepositorySelection } from './repository-selection';

/** What the scanner proposes for deletion. Protections (sightings, pulls, age) always win. */
export interface RegistryJanitorPolicy {
  /**
   * A sighting in any cluster (or an ECR pull) within this many days protects an image.
   * @default 7
   */
  readonly unusedDays?: number;
  /**
   * An image pushed within this many days is protected.
   * @default 3
   */
  readonly minAgeDays?: number;
  /**
   * Propose untagged images (that are not children or referrers of a kept image).
   * @default true
   */
  readonly deleteUntagged?: boolean;
  /**
   * Propose tagged images not seen in any cluster for `unusedDays`.
   * @default true
   */
  readonly unusedTagged?: boolean;
  /**
   * Tag globs; an image with a matching tag is never proposed.
   * @default - none
   */
  readonly protectTags?: string[];
}

/** Properties of a `RegistryJanitor`. Every one is optional; the defaults are a working system. */
export interface RegistryJanitorProps {
  /**
   * When the registry is scanned and a digest is mailed.
   * @default - twice a day, 06:00 and 18:00 UTC: `cron(0 6,18 * * ? *)`
   */
  readonly schedule?: events.Schedule;
  /**
   * The "scan did not run" alarm fires when no scheduled scan has started for this many hours.
   * Set it a little above the longest gap between two runs of `schedule`.
   * @default 13 (the default schedule runs every 12 hours)
   */
  readonly scanOverdueAfterHours?: number;
  /**
   * The ECR repositories of the stack's account and region to manage. The scanner's and deleter's
   * IAM permissions are limited to them.
   * @default RepositorySelection.all()
   */
  readonly repositories?: RepositorySelection;
  /**
   * The delete rules and protections.
   * @default - unusedDays 7, minAgeDays 3, deleteUntagged and unusedTagged on, no protected tags
   */
  readonly policy?: RegistryJanitorPolicy;
  /**
   * E-mail addresses subscribed to the notification topic (digests and alarms). Each address gets
   * a confirmation mail from SNS first.
   * @default - none
   */
  readonly notificationEmails?: string[];
  /**
   * An existing topic to send digests and alarms to, instead of a new one. Its policy (and its key
   * policy, if encrypted) must let CloudWatch alarms publish.
   * @default - a new topic encrypted with its own KMS key
   */
  readonly notificationTopic?: sns.ITopic;
  /**
   * Clusters expected to report; each gets its own "no report for `staleAfterHours`" alarm.
   * Whatever this says, one alarm fires when no cluster at all has reported for that long.
   * @default - none
   */
  readonly clusters?: string[];
  /**
   * A cluster silent for longer blocks deletions in the repositories it reported from, and alarms.
   * @default 6
   */
  readonly staleAfterHours?: number;
  /**
   * How long a review link in a digest stays valid.
   * @default 7
   */
  readonly linkExpiryDays?: number;
  /**
   * Also protect images that ECS tasks and services or Lambda functions of the account run or
   * will run, scheduled ECS tasks (EventBridge rules and schedules, disabled ones too) included.
   * @default true
   */
  readonly awsUsage?: boolean;
  /**
   * Retention of the functions' and the API's logs.
   * @default logs.RetentionDays.THREE_MONTHS (as long as sightings are kept)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the table, secrets, keys and logs when the janitor leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A customer-managed key for the table and the secrets.
   * @default - AWS-managed keys
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Throttling of the HTTP API (every route). Reporters send a few requests every five minutes.
   * @default - 10 requests a second, bursts of 20
   */
  readonly apiThrottle?: apigwv2.ThrottleSettings;
}

/** The policy with every default filled in. */
export type ResolvedJanitorPolicy = Required<RegistryJanitorPolicy>;

/** The props with every default filled in and every value checked. */
export interface ResolvedJanitorProps {
  readonly schedule: events.Schedule;
  readonly scanOverdueAfterHours: number;
  readonly repositories: RepositorySelection;
  readonly policy: ResolvedJanitorPolicy;
  readonly notificationEmails: readonly string[];
  readonly clusters: readonly string[];
  readonly staleAfterHours: number;
  readonly linkExpiryDays: number;
  readonly awsUsage: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly apiThrottle: apigwv2.ThrottleSettings;
}

export const DEFAULT_SCHEDULE = 'cron(0 6,18 * * ? *)';

/** The cluster names the ingest accepts (as `lambdas/core/report.ts` checks them). */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const EMAIL = /^[^\s@,]+@[^\s@,]+$/;

/** Fills in the defaults and rejects values that cannot work, naming the construct. */
export function resolveJanitorProps(scope: IConstruct, props: RegistryJanitorProps): ResolvedJanitorProps {
  const policy = props.policy ?? {};
  const resolved: ResolvedJanitorProps = {
    schedule: props.schedule ?? events.Schedule.expression(DEFAULT_SCHEDULE),
    // Hourly periods, like the silence alarms: CloudWatch evaluates at most 7 days of them.
    scanOverdueAfterHours: wholeNumber(
      scope,
      'scanOverdueAfterHours',
      props.scanOverdueAfterHours ?? 13,
      1,
      168,
    ),
    repositories: props.repositories ?? RepositorySelection.all(),
    policy: {
      // Sightings are kept SIGHTING_RETENTION_DAYS: a longer window would forget images in use.
      unusedDays: wholeNumber(scope, 'policy.unusedDays', policy.unusedDays ?? 7, 1, SIGHTING_RETENTION_DAYS),
      minAgeDays: wholeNumber(scope, 'policy.minAgeDays', policy.minAgeDays ?? 3, 0, 3650),
      deleteUntagged: policy.deleteUntagged ?? true,
      unusedTagged: policy.unusedTagged ?? true,
      protectTags: [...(policy.protectTags ?? [])],
    },
    notificationEmails: [...(props.notificationEmails ?? [])],
    clusters: [...new Set(props.clusters ?? [])],
    // CloudWatch evaluates at most 7 days of hourly periods: the silence alarm's limit.
    staleAfterHours: wholeNumber(scope, 'staleAfterHours', props.staleAfterHours ?? 6, 1, 168),
    // A review link must not outlive its plan (plans expire after 30 days).
    linkExpiryDays: wholeNumber(scope, 'linkExpiryDays', props.linkExpiryDays ?? 7, 1, 30),
    awsUsage: props.awsUsage ?? true,
    logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    apiThrottle: props.apiThrottle ?? { rateLimit: 10, burstLimit: 20 },
  };
  for (const email of resolved.notificationEmails) {
    if (!EMAIL.test(email)) {
      throw new RegistryJanitorConfigError(`notificationEmails: '${email}' is not an e-mail address`, scope);
    }
  }
  for (const cluster of resolved.clusters) {
    if (!CLUSTER_NAME.test(cluster)) {
      throw new RegistryJanitorConfigError(
        `clusters: '${cluster}' is not a cluster name (letters, digits and . _ : -, at most 128)`,
        scope,
      );
    }
  }
  return resolved;
}

function wholeNumber(scope: IConstruct, name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RegistryJanitorConfigError(
      `${name} must be a whole number from ${min} to ${max}, got ${value}`,
      scope,
    );
  }
  return value;
}
