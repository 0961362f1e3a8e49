import type { RenderedDigest } from './digest';

/** One repository of one scan, as a unit of work. */
export interface ScanTask {
  readonly planId: string;
  readonly repository: string;
}

/** Fans a scan out, one task per repository (SQS in AWS, in process in `serve` and tests). */
export interface ScanQueue {
  enqueue(tasks: readonly ScanTask[]): Promise<void>;
}

/** Sends a digest to the people who review plans (SNS in AWS; the outbox in `serve`). */
export interface Notifier {
  publish(digest: RenderedDigest): Promise<void>;
}
