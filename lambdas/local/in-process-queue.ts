import pLimit from 'p-limit';
import type { ScanQueue, ScanTask } from '../core/ports-scan';

/**
 * The scan fan-out in one process (`serve`, tests): tasks run in the background with bounded
 * concurrency, each retried a few times like an SQS redelivery; `drained()` waits for all.
 */
export class InProcessScanQueue implements ScanQueue {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly running = new Set<Promise<void>>();
  /** Tasks that failed every attempt, with the last error (an SQS queue's dead letters). */
  readonly deadLetters: { task: ScanTask; error: string }[] = [];

  constructor(
    private readonly run: (task: ScanTask) => Promise<void>,
    options: { readonly concurrency?: number; readonly attempts?: number } = {},
  ) {
    this.limit = pLimit(options.concurrency ?? 4);
    this.attempts = options.attempts ?? 3;
  }

  private readonly attempts: number;

  async enqueue(tasks: readonly ScanTask[]): Promise<void> {
    for (const task of tasks) {
      const job = this.limit(() => this.runWithRetries(task)).finally(() => this.running.delete(job));
      this.running.add(job);
    }
  }

  /** Resolves when every task enqueued so far (and any they enqueued) has finished. */
  async drained(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async runWithRetries(task: ScanTask): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.run(task);
        return;
      } catch (error) {
        if (attempt >= this.attempts) {
          this.deadLetters.push({ task, error: error instanceof Error ? error.message : String(error) });
          return;
        }
      }
    }
  }
}
