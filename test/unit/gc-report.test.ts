import type { Outcome } from '../../lambdas/core/execute-plan';
import { renderRepositoryReport } from '../../lambdas/core/gc-report';
import type { PlanItem, RepositoryPlan } from '../../lambdas/core/plan';
import { digestOf, NOW } from '../fixtures/builders';

/** A delete candidate pushed on 2026-11-01 at noon (UTC). */
function candidate(name: string, tags: string[]): PlanItem {
  const digest = digestOf(name);
  return {
    repository: 'web',
    digest,
    tags,
    pushedAt: new Date('2026-11-01T12:00:00Z'),
    sizeBytes: 1,
    role: 'root',
    root: digest,
    references: [],
    decision: 'delete',
    reason: 'delete: untagged, never seen',
  };
}

describe('renderRepositoryReport', () => {
  it('shows each manifest with its own tags in every section, [] when it has none', () => {
    // Prepare
    const [tagged, untagged, refused, skipped] = [
      candidate('tagged', ['build-1', 'build-1b']),
      candidate('untagged', []),
      candidate('refused', ['build-2']),
      candidate('skipped', []),
    ] as [PlanItem, PlanItem, PlanItem, PlanItem];
    const plan: RepositoryPlan = {
      repository: 'web',
      totalImages: 6,
      items: [tagged, untagged, refused, skipped],
      blockedBy: [],
    };
    const outcomes: Outcome[] = [
      { item: tagged, status: 'deleted' },
      { item: untagged, status: 'deleted' },
      { item: refused, status: 'failed', code: 'ImageTagDoesNotMatchDigest', message: 'tag moved' },
      { item: skipped, status: 'skipped', reason: 'its tags changed since the plan' },
    ];
    const short = (item: PlanItem) => `${item.digest.slice(0, 16)}...`;

    // Act
    const lines = renderRepositoryReport(plan, outcomes, {
      label: 'us-east-1',
      verbose: false,
      dryRun: false,
      now: NOW,
    });

    // Assess
    expect(lines).toEqual([
      'Total images in web (us-east-1): 6',
      'Images to delete (4)',
      `  2026-11-01 12:00:00: ${short(tagged)} [build-1, build-1b]`,
      `  2026-11-01 12:00:00: ${short(untagged)} []`,
      `  2026-11-01 12:00:00: ${short(refused)} [build-2]`,
      `  2026-11-01 12:00:00: ${short(skipped)} []`,
      'Deleted (2)',
      `  ${short(tagged)} (build-1, build-1b)`,
      `  ${short(untagged)} ()`,
      'Failures (2)',
      `  ${short(refused)} ImageTagDoesNotMatchDigest: tag moved [build-2]`,
      `  ${short(skipped)} Skipped: its tags changed since the plan []`,
    ]);
  });
});
