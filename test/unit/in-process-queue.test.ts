import type { ScanTask } from '../../lambdas/core/ports-scan';
import { InProcessScanQueue } from '../../lambdas/local/in-process-queue';

const task = (repository: string): ScanTask => ({ planId: 'p1', repository });

describe('InProcessScanQueue', () => {
  it('retries a failing task, then tells of it as a dead letter, and says when it is busy', async () => {
    // Prepare: 'bad' always fails, 'good' after one failure.
    const attempts = new Map<string, number>();
    const told: [string, string][] = [];
    const queue = new InProcessScanQueue(
      async ({ repository }) => {
        const n = (attempts.get(repository) ?? 0) + 1;
        attempts.set(repository, n);
        if (repository === 'bad' || n === 1) throw new Error(`${repository} failed (${n})`);
      },
      { attempts: 3, onDeadLetter: (dead, error) => told.push([dead.repository, error]) },
    );

    // Act
    expect(queue.busy).toBe(false);
    await queue.enqueue([task('bad'), task('good')]);
    const busyWhileRunning = queue.busy;
    await queue.drained();

    // Assess
    expect(busyWhileRunning).toBe(true);
    expect(queue.busy).toBe(false);
    expect(Object.fromEntries(attempts)).toEqual({ bad: 3, good: 2 });
    expect(told).toEqual([['bad', 'bad failed (3)']]);
    expect(queue.deadLetters).toEqual([{ task: task('bad'), error: 'bad failed (3)' }]);
  });
});
