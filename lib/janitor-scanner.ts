import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { grantAwsUsageRead } from './aws-usage-access';
import type { JanitorParts } from './janitor-parts';
import { consumeQueue, createScanQueues, grantSend } from './janitor-queue';
import { grantSecretValue } from './secret-access';
import { TABLE_ACTIONS, TABLE_WRITE_PARTITIONS } from './table-access';

/** A scan worker's limit for one batch of repositories; SQS hides a message for 6 times as long. */
const WORKER_TIMEOUT = Duration.minutes(5);
/** Deliveries of one scan task before it goes to the dead-letter queue. */
const SCAN_TASK_ATTEMPTS = 3;

export interface JanitorScanner {
  readonly schedule: lambda.IFunction;
  readonly worker: lambda.IFunction;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * The scan: an EventBridge rule on the schedule starts the schedule function, which lists the
 * repositories, creates the plan and sends one task per repository to an SQS queue; workers plan
 * each repository, and the one that stores the last assembles the plan and mails the digest.
 */
export function addScanner(parts: JanitorParts, deleter: lambda.IFunction): JanitorScanner {
  const { queue, deadLetterQueue } = createScanQueues(parts.scope, {
    visibilityTimeout: Duration.minutes(WORKER_TIMEOUT.toMinutes() * 6),
    maxReceiveCount: SCAN_TASK_ATTEMPTS,
  });
  const environment = {
    QUEUE_URL: queue.queueUrl,
    TOPIC_ARN: parts.topic.topicArn,
    LINK_SECRET_ARN: parts.linkSecret.secretArn,
    // The scanner is not behind the API, so reading its URL makes no dependency cycle.
    API_URL: parts.apiUrl,
    SCAN_CONFIG: parts.scanConfig,
    AWS_USAGE: String(parts.settings.awsUsage),
  };
  const schedule = addScanSchedule(parts, queue, environment, deleter);
  const worker = addScanWorker(parts, queue, environment);
  parts.alarms.forScan({
    schedule,
    worker,
    deadLetterQueue,
    attempts: SCAN_TASK_ATTEMPTS,
    overdueAfterHours: parts.settings.scanOverdueAfterHours,
  });
  return { schedule, worker, queue, deadLetterQueue };
}

function addScanSchedule(
  parts: JanitorParts,
  queue: sqs.IQueue,
  environment: Record<string, string>,
  deleter: lambda.IFunction,
): lambda.IFunction {
  const schedule = parts.addFunction('ScanSchedule', 'scan-lambda.ts', {
    handler: 'scheduleHandler',
    description: 'registry-janitor scan schedule: creates the plan and sends one task per repository',
    memorySize: 512,
    timeout: Duration.minutes(2),
    environment: { ...environment, DELETER_FUNCTION_NAME: deleter.functionName },
  });
  // Starts again the deletion of a plan still APPROVED two hours after its approval (its start
  // was lost, or every attempt failed): the unqualified function only, as the review function.
  iam.Grant.addToPrincipal({
    grantee: schedule.role,
    actions: ['lambda:InvokeFunction'],
    resourceArns: [deleter.functionArn],
  });
  parts.settings.repositories.grantList(schedule.role);
  parts.grantTableAccess(schedule.role, TABLE_ACTIONS.scanSchedule, {
    writes: TABLE_WRITE_PARTITIONS.scanSchedule,
  });
  grantSecretValue(parts.linkSecret, schedule.role);
  grantSend(queue, schedule.role);
  // With no repository to scan, the schedule function assembles the (empty) plan itself.
  parts.grantPublish(schedule.role);
  new events.Rule(parts.scope, 'ScanScheduleRule', {
    description: 'registry-janitor: starts a scan of the registry',
    schedule: parts.settings.schedule,
    targets: [
      new targets.LambdaFunction(schedule.function, { retryAttempts: 2, maxEventAge: Duration.hours(2) }),
    ],
  });
  return schedule.function;
}

function addScanWorker(
  parts: JanitorParts,
  queue: sqs.IQueue,
  environment: Record<string, string>,
): lambda.IFunction {
  const worker = parts.addFunction('ScanWorker', 'scan-lambda.ts', {
    handler: 'workerHandler',
    description: 'registry-janitor scan worker: plans one repository per task, then mails the digest',
    memorySize: 1024,
    timeout: WORKER_TIMEOUT,
    environment,
  });
  parts.settings.repositories.grantRead(worker.role);
  parts.registerPullTimeExclusion(worker.role);
  parts.grantTableAccess(worker.role, TABLE_ACTIONS.scanWorker, {
    writes: TABLE_WRITE_PARTITIONS.scanWorker,
  });
  grantSecretValue(parts.linkSecret, worker.role);
  parts.grantPublish(worker.role);
  if (parts.settings.awsUsage) grantAwsUsageRead(worker.role);
  consumeQueue(queue, worker.function, { batchSize: 3, maxConcurrency: 4 });
  return worker.function;
}
