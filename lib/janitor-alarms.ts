import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CLUSTER_REPORT_METRIC, METRICS_NAMESPACE } from '../lambdas/adapters/metrics';

/**
 * The janitor's alarms, each notifying the topic. They are created in the janitor's own scope, so
 * their logical ids read like the janitor's other resources.
 */
export class JanitorAlarms {
  private readonly list: cloudwatch.Alarm[] = [];

  constructor(
    private readonly scope: Construct,
    private readonly topic: sns.ITopic,
  ) {}

  /** Every alarm created so far. */
  get all(): readonly cloudwatch.IAlarm[] {
    return [...this.list];
  }

  /** An alarm on `props`, notifying the topic (and when it is OK again, with `notifyOk`). */
  add(id: string, props: cloudwatch.AlarmProps, options: { readonly notifyOk?: boolean } = {}): void {
    const alarm = new cloudwatch.Alarm(this.scope, id, props);
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    if (options.notifyOk) alarm.addOkAction(action);
    this.list.push(alarm);
  }

  /** "`fn` failed (threw or timed out) at least once within `period`". */
  errors(id: string, fn: lambda.IFunction, period: Duration, alarmDescription: string): void {
    this.add(id, {
      alarmDescription,
      metric: fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** "A dead-letter queue holds a message": something failed every attempt. */
  deadLetters(id: string, queue: sqs.IQueue, alarmDescription: string): void {
    this.add(id, {
      alarmDescription,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * "Nothing for `hours` hours": `metric` (a sum) has no data point of at least 1 in any of the
   * last `hours` hourly periods. Hours without data are breaching, so silence is what alarms; it
   * notifies again when data comes back.
   */
  absence(id: string, metric: cloudwatch.IMetric, hours: number, alarmDescription: string): void {
    this.add(
      id,
      {
        alarmDescription,
        metric,
        threshold: 1,
        evaluationPeriods: hours,
        datapointsToAlarm: hours,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
      { notifyOk: true },
    );
  }

  /**
   * The ingest's alarms: the function failed, the API answered 5xx, and "no report for
   * `staleAfterHours`" from any cluster and from each named one (the ingest writes one
   * `ClusterReport` data point per stored report).
   */
  forIngest(props: {
    readonly ingest: lambda.IFunction;
    readonly stage: apigwv2.HttpStage;
    readonly clusters: readonly string[];
    readonly staleAfterHours: number;
  }): void {
    const { ingest, staleAfterHours: hours } = props;
    this.errors(
      'IngestErrorsAlarm',
      ingest,
      Duration.minutes(5),
      'registry-janitor: the ingest function failed (crash or timeout): reports may be lost.',
    );
    this.add('ApiServerErrorsAlarm', {
      alarmDescription:
        'registry-janitor: the API answered 5xx repeatedly (reports not stored; the clusters retry, then look silent).',
      metric: props.stage.metricServerError({
        period: Duration.minutes(15),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const reports = (cluster?: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: CLUSTER_REPORT_METRIC,
        dimensionsMap: {
          FunctionName: ingest.functionName,
          ...(cluster === undefined ? {} : { Cluster: cluster }),
        },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.hours(1),
      });
    this.absence(
      'NoClusterReportsAlarm',
      reports(),
      hours,
      `registry-janitor: no cluster has reported for ${hours} h. Either every reporter is down (their ` +
        'repositories are blocked) or none is installed (then only ECR pull times protect images).',
    );
    for (const cluster of props.clusters) {
      this.absence(
        `ClusterSilentAlarm-${cluster}`,
        reports(cluster),
        hours,
        `registry-janitor: cluster ${cluster} has not reported for ${hours} h: deletions are blocked in the ` +
          'repositories it reported from. Check its reporter CronJob and its key.',
      );
    }
  }

  /**
   * The scan's alarms: no scheduled scan started for `overdueAfterHours` (the schedule function's
   * Invocations), a scan could not start, a worker crashed, a repository was dead-lettered.
   */
  forScan(props: {
    readonly schedule: lambda.IFunction;
    readonly worker: lambda.IFunction;
    readonly deadLetterQueue: sqs.IQueue;
    readonly attempts: number;
    readonly overdueAfterHours: number;
  }): void {
    const hours = props.overdueAfterHours;
    this.absence(
      'ScanDidNotRunAlarm',
      props.schedule.metricInvocations({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      hours,
      `registry-janitor: no scheduled scan has started for ${hours} h, so no digest is coming. ` +
        'Check the schedule rule and the scan schedule function.',
    );
    this.errors(
      'ScanStartErrorsAlarm',
      props.schedule,
      Duration.minutes(5),
      'registry-janitor: a scan could not start (the registry could not be listed, or the function failed); ' +
        'the plan and the function logs say why.',
    );
    this.errors(
      'ScanWorkerErrorsAlarm',
      props.worker,
      Duration.minutes(15),
      'registry-janitor: a scan worker crashed or timed out; its repositories are retried, then dead-lettered.',
    );
    this.deadLetters(
      'ScanDeadLettersAlarm',
      props.deadLetterQueue,
      `registry-janitor: a repository could not be scanned in ${props.attempts} attempts, so its plan stays ` +
        'incomplete (no digest). The task is in the scan dead-letter queue.',
    );
  }
}
