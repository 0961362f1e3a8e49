import pLimit from 'p-limit';
import type { ScanQueue, ScanTask } from '../core/ports-scan';

/**
 * The scan fan-out in one process (`serve`, tests): tasks run in the background with bounded
 * concurrency, each retried a few times like an SQS redelivery; `drained()` waits for all.
 */
export class InProcessScanQueue implements ScanQueue {
  private readonly limit: ReturnType<typeof pLimit>;
  /** Each task queued or running, with the plan it is for. */
  private readonly running = new Map<Promise<void>, string>();
  /** Tasks that failed every attempt, with the last error (an SQS queue's dead letters). */
  readonly deadLetters: { task: ScanTask; error: string }[] = [];

  constructor(
    private readonly run: (task: ScanTask) => Promise<void>,
    options: {
      readonly concurrency?: number;
      readonly attempts?: number;
      /** Told of each task that failed every attempt (`serve` logs it: a dead letter is never silent). */
      readonly onDeadLetter?: (task: ScanTask, error: string) => void;
    } = {},
  ) {
    this.limit = pLimit(options.concurrency ?? 4);
    this.attempts = options.attempts ?? 3;
    this.onDeadLetter = options.onDeadLetter;
  }

  private readonly attempts: number;
  private readonly onDeadLetter: ((task: ScanTask, error: string) => void) | undefined;

  /** Whether any task is queued or running. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** The plans whose tasks are queued or running, each once. */
  get plans(): string[] {
    return [...new Set(this.running.values())];
  }

  async enqueue(tasks: readonly ScanTask[]): Promise<void> {
    for (const task of tasks) {
      const job = this.limit(() => this.runWithRetries(task)).finally(() => this.running.delete(job));
      this.running.set(job, task.planId);
    }
  }

  /** Resolves when every task enqueued so far (and any they enqueued) has finished. */
  async drained(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.keys()]);
  }

  private async runWithRetries(task: ScanTask): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.run(task);
        return;
      } catch (error) {
        if (attempt >= this.attempts) {
          const message = error instanceof Error ? error.message : String(error);
          this.deadLetters.push({ task, error: message });
          this.onDeadLetter?.(task, message);
          return;
        }
      }
    }
  }
}
