import { Duration } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { grantAwsUsageRead } from './aws-usage-access';
import { APPROVE_PATH, type JanitorParts, REVIEW_PATH } from './janitor-parts';
import { createFailureQueue, failureDestination } from './janitor-queue';
import { grantSecretValue } from './secret-access';
import { TABLE_ACTIONS, TABLE_PARTITIONS, TABLE_WRITE_PARTITIONS } from './table-access';

/** How the review function authenticates the page and the approval (see `JanitorApi.addRoute`). */
const SIGNED_LINK =
  'The review function answers only a link signed with the link secret: an HMAC-SHA256 over the plan id ' +
  'and the expiry, compared in constant time; the approval is a POST carrying the same signature, and ' +
  'an expired link approves nothing.';

/**
 * The deleter, invoked asynchronously with `{ planId }` by the review function (and by the scan
 * schedule for an approval left without its deletion): re-checks and deletes the approved images.
 * Its role is the only one with `ecr:BatchDeleteImage`.
 */
export function addDeleter(parts: JanitorParts): { function: lambda.IFunction; failures: sqs.IQueue } {
  const deleter = parts.addFunction('Deleter', 'delete.ts', {
    description: 'registry-janitor deleter: re-checks and deletes the images a person approved',
    memorySize: 1024,
    timeout: Duration.minutes(15),
    environment: { SCAN_CONFIG: parts.scanConfig, AWS_USAGE: String(parts.settings.awsUsage) },
  });
  parts.settings.repositories.grantRead(deleter.role);
  parts.settings.repositories.grantDelete(deleter.role);
  parts.registerPullTimeExclusion(deleter.role);
  parts.grantTableAccess(deleter.role, TABLE_ACTIONS.deleter, { writes: TABLE_WRITE_PARTITIONS.deleter });
  if (parts.settings.awsUsage) grantAwsUsageRead(deleter.role);
  const failures = createFailureQueue(parts.scope, 'DeletionFailures');
  // Safe to run again (outcomes are recorded per repository; gone images count as deleted).
  deleter.function.configureAsyncInvoke({
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
    onFailure: failureDestination(failures),
  });
  parts.alarms.deadLetters(
    'DeletionFailedAlarm',
    failures,
    'registry-janitor: an approved deletion failed every attempt; the plan shows what was done. The ' +
      'failure record (plan id, error) is in the deletion failure queue.',
  );
  return { function: deleter.function, failures };
}

/** The review page and the approval, behind the API; it starts the deleter and touches no image. */
export function addReview(parts: JanitorParts, deleter: lambda.IFunction): lambda.IFunction {
  const review = parts.addFunction('Review', 'review.ts', {
    description: 'registry-janitor review: the signed review page and the approval (GET/POST /v1/plans/{id})',
    memorySize: 1024,
    // Below API Gateway's 30 s integration limit, so that a slow page ends as this function's error.
    timeout: Duration.seconds(25),
    environment: {
      LINK_SECRET_ARN: parts.linkSecret.secretArn,
      DELETER_FUNCTION_NAME: deleter.functionName,
    },
  });
  parts.grantTableAccess(review.role, TABLE_ACTIONS.review, TABLE_PARTITIONS.review);
  grantSecretValue(parts.linkSecret, review.role);
  // The unqualified function only: no version or alias (grantInvoke would add "<arn>:*").
  iam.Grant.addToPrincipal({
    grantee: review.role,
    actions: ['lambda:InvokeFunction'],
    resourceArns: [deleter.functionArn],
  });
  parts.api.addRoute(apigwv2.HttpMethod.GET, REVIEW_PATH, 'Review', review.function, SIGNED_LINK);
  parts.api.addRoute(apigwv2.HttpMethod.POST, APPROVE_PATH, 'Approve', review.function, SIGNED_LINK);
  return review.function;
}
