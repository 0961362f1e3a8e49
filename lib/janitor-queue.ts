import { Duration, Names, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** How long failed messages are kept for a person to look at: SQS's maximum. */
const FAILURE_RETENTION = Duration.days(14);

/**
 * A janitor queue: encrypted at rest (SQS-managed keys: the messages are plan ids and repository
 * names, and no key policy has to let Lambda or SQS in) and reachable over TLS only.
 */
function janitorQueue(scope: Construct, id: string, props: sqs.QueueProps): sqs.Queue {
  return new sqs.Queue(scope, id, {
    ...props,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
}

/**
 * The scan's fan-out: one message per repository, redelivered up to `maxReceiveCount` times, then
 * kept in the dead-letter queue (which the construct alarms on).
 */
export function createScanQueues(
  scope: Construct,
  props: { readonly visibilityTimeout: Duration; readonly maxReceiveCount: number },
): { readonly queue: sqs.Queue; readonly deadLetterQueue: sqs.Queue } {
  const deadLetterQueue = janitorQueue(scope, 'ScanDeadLetters', { retentionPeriod: FAILURE_RETENTION });
  const queue = janitorQueue(scope, 'ScanTasks', {
    visibilityTimeout: props.visibilityTimeout,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}

/**
 * Where asynchronous invocations that failed every attempt are kept (a Lambda on-failure
 * destination). It is itself the end of the line: it has no dead-letter queue of its own.
 */
export function createFailureQueue(scope: Construct, id: string): sqs.Queue {
  const queue = janitorQueue(scope, id, { retentionPeriod: FAILURE_RETENTION });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      "This queue is a dead-letter destination (the on-failure destination of the deleter's asynchronous " +
      'invocations, which cdk-nag does not recognise as one): nothing consumes it automatically, records ' +
      'are kept 14 days for a person and an alarm fires on the first one. A dead-letter queue of a ' +
      'dead-letter queue would only move the same records.',
  });
  return queue;
}

/** Lets `grantee` send to `queue` and nothing else: `sqs:SendMessage` also covers `SendMessageBatch`. */
export function grantSend(queue: sqs.IQueue, grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
}

/**
 * `queue` as a Lambda on-failure destination, with `sqs:SendMessage` for the function's role only
 * (`SqsDestination` also grants `GetQueueAttributes` and `GetQueueUrl`, which Lambda does not use).
 */
export function failureDestination(queue: sqs.IQueue): lambda.IDestination {
  return {
    bind: (_scope, fn) => {
      grantSend(queue, fn);
      return { destination: queue.queueArn };
    },
  };
}

/**
 * Feeds `fn` from `queue` (a Lambda event source mapping) with the three actions the mapping
 * uses: `ReceiveMessage`, `DeleteMessage`, `GetQueueAttributes` (`SqsEventSource` also grants
 * `ChangeMessageVisibility` and `GetQueueUrl`, which it does not use).
 */
export function consumeQueue(
  queue: sqs.IQueue,
  fn: lambda.IFunction,
  options: { readonly batchSize: number; readonly maxConcurrency: number },
): lambda.EventSourceMapping {
  iam.Grant.addToPrincipal({
    grantee: fn,
    actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
    resourceArns: [queue.queueArn],
  });
  // The id `SqsEventSource` gives it: a deployed stack keeps its mapping instead of replacing it
  // (two mappings of one queue and function cannot exist side by side during the update).
  return fn.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`, {
    eventSourceArn: queue.queueArn,
    batchSize: options.batchSize,
    maxConcurrency: options.maxConcurrency,
    reportBatchItemFailures: true,
  });
}
