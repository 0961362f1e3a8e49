import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { hmacSha256Hex } from '../adapters/crypto';
import { powertoolsLog } from '../adapters/log';
import { SecretsManagerSecrets } from '../adapters/secrets';
import { SnsNotifier } from '../adapters/sns-notifier';
import { SqsScanQueue } from '../adapters/sqs-scan-queue';
import { stableHash } from '../core/hash';
import type { ScanTask } from '../core/ports-scan';
import { janitorEnvironment } from './aws-environment';
import { reuseRecent, type ScanDeps, scanRepository, startScan, USAGE_REUSE_MS } from './scan';

/** The part of an EventBridge scheduled event the scanner reads. */
export interface ScheduledEvent {
  /** When the rule fired (ISO 8601); the plan id is derived from it, so a redelivery starts nothing. */
  readonly time?: string;
}

/** The part of an SQS event the worker reads. */
export interface SqsEvent {
  readonly Records?: readonly { readonly messageId: string; readonly body: string }[];
}

/** An SQS partial batch response: the messages to deliver again (`reportBatchItemFailures`). */
export interface SqsBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/** What a scheduled start reports; never the signed review URL (a credential until it expires). */
export interface ScheduledScanResult {
  readonly planId: string;
  readonly started: boolean;
  readonly repositories: number;
}

const scanTaskSchema = z.object({ planId: z.string().min(1), repository: z.string().min(1) }).strict();

/**
 * Starts the scan of one scheduled time. A registry that cannot be listed is recorded in a FAILED
 * plan by `startScan` and then thrown, so that the function's Errors metric (and its alarm) says
 * so; a redelivery of the same event finds the plan and starts nothing.
 */
export async function handleScheduledScan(
  event: ScheduledEvent,
  deps: ScanDeps,
): Promise<ScheduledScanResult> {
  const fired = event.time === undefined ? undefined : new Date(event.time);
  const scheduledAt = fired && !Number.isNaN(fired.getTime()) ? fired : deps.now();
  const started = await startScan({ scheduledAt }, deps);
  if (started.error !== undefined) {
    throw new Error(`scan ${started.planId} could not list the repositories: ${started.error}`);
  }
  return { planId: started.planId, started: started.started, repositories: started.repositories };
}

/**
 * Plans each repository of an SQS batch, one after the other. A task that throws (unreadable
 * body, unknown plan, a store that failed) is returned for redelivery; SQS moves it to the dead
 * letter queue after its last attempt. A repository that cannot be listed does not throw: the
 * plan records it as unreadable, and nothing in it is proposed.
 */
export async function handleScanTasks(event: SqsEvent, deps: ScanDeps): Promise<SqsBatchResponse> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of event.Records ?? []) {
    try {
      await scanRepository(parseTask(record.body), deps);
    } catch (error) {
      deps.log.error('scan task failed', {
        messageId: record.messageId,
        error: error instanceof Error ? error.message : String(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

function parseTask(body: string): ScanTask {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new Error('scan task body is not JSON');
  }
  const task = scanTaskSchema.safeParse(value);
  if (!task.success) {
    throw new Error(`scan task is not { planId, repository }: ${task.error.issues[0]?.message ?? 'invalid'}`);
  }
  return task.data;
}

let lambdaDeps: ScanDeps | undefined;

/** The deployed scanner's deps (both entry points), built once per container from its environment. */
function depsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ScanDeps {
  const shared = janitorEnvironment(env, ['QUEUE_URL', 'TOPIC_ARN', 'LINK_SECRET_ARN', 'API_URL']);
  const secrets = new SecretsManagerSecrets();
  const { registry, sightings, plans, config, configInput, usage } = shared;
  return {
    registry,
    sightings,
    plans,
    queue: new SqsScanQueue(new SQSClient({}), env.QUEUE_URL!),
    notifier: new SnsNotifier(new SNSClient({}), env.TOPIC_ARN!),
    config,
    policyHash: stableHash(configInput),
    linkSecret: () => secrets.get(env.LINK_SECRET_ARN!),
    hmac: hmacSha256Hex,
    reviewBaseUrl: env.API_URL!,
    ...(usage ? { usage: reuseRecent(usage, USAGE_REUSE_MS) } : {}),
    ...(env.DELETER_FUNCTION_NAME ? { resumeDeletion: invokeDeleter(env.DELETER_FUNCTION_NAME) } : {}),
    now: () => new Date(),
    log: powertoolsLog('registry-janitor-scan'),
  };
}

/**
 * Starts the deleter with `{ planId }`, asynchronously, as the review function does. An answer
 * takes milliseconds: one that has not come in 10 s fails, rather than the schedule's time.
 */
function invokeDeleter(functionName: string): (planId: string) => Promise<void> {
  const lambda = new LambdaClient({ requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 } });
  return async (planId) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: JSON.stringify({ planId }),
      }),
    );
  };
}

/** The Lambda entry point of the schedule (EventBridge scheduled event). */
export async function scheduleHandler(event: ScheduledEvent): Promise<ScheduledScanResult> {
  lambdaDeps ??= depsFromEnvironment();
  return handleScheduledScan(event, lambdaDeps);
}

/** The Lambda entry point of the worker (SQS event source with `reportBatchItemFailures`). */
export async function workerHandler(event: SqsEvent): Promise<SqsBatchResponse> {
  lambdaDeps ??= depsFromEnvironment();
  return handleScanTasks(event, lambdaDeps);
}
