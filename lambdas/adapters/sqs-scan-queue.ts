import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ScanQueue, ScanTask } from '../core/ports-scan';

const SQS_BATCH = 10;

/** The scan fan-out on SQS: one message per repository, ten per call, failed entries resent. */
export class SqsScanQueue implements ScanQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(tasks: readonly ScanTask[]): Promise<void> {
    for (let i = 0; i < tasks.length; i += SQS_BATCH) {
      let batch = tasks
        .slice(i, i + SQS_BATCH)
        .map((task, index) => ({ Id: String(index), MessageBody: JSON.stringify(task) }));
      for (let attempt = 0; batch.length > 0; attempt++) {
        if (attempt >= 5) throw new Error(`SQS refused ${batch.length} scan tasks after retries`);
        const answer = await this.client.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch }),
        );
        const failed = new Set((answer.Failed ?? []).map((entry) => entry.Id));
        batch = batch.filter((entry) => failed.has(entry.Id));
      }
    }
  }
}
