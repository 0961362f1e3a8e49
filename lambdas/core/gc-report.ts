import type { Outcome } from './execute-plan';
import { lastReportText, type PlanItem, type RepositoryPlan } from './plan';
import { ago, formatUtc, shortDigest } from './time-text';

/** Options of the text report. */
export interface GcReportOptions {
  /** The region (ECR) or registry host, as in `Total images in web (us-east-1): 47`. */
  readonly label: string;
  /** List every image with its decision and reason. */
  readonly verbose: boolean;
  /** Nothing was deleted on purpose: no `Deleted`/`Failures` sections. */
  readonly dryRun: boolean;
  readonly now: Date;
}

/**
 * Renders one repository as aws-ecr-gc prints it (`Total images in REPO (REGION): N`,
 * `Images to delete (N)`, `Deleted (N)`, `Failures (N)`), with the reasons under `--verbose`.
 */
export function renderRepositoryReport(
  plan: RepositoryPlan,
  outcomes: readonly Outcome[],
  options: GcReportOptions,
): string[] {
  if (plan.error !== undefined) {
    return [
      `Could not read ${plan.repository} (${options.label}): ${plan.error}`,
      'Nothing in it was deleted.',
    ];
  }
  const lines = [`Total images in ${plan.repository} (${options.label}): ${plan.totalImages}`];
  if (plan.blockedBy.length > 0) {
    const clusters = plan.blockedBy.map(
      (stale) => `${stale.cluster} (${lastReportText(stale, ago(stale.lastReportAt, options.now))})`,
    );
    lines.push(
      `Deletions blocked: no recent report from ${clusters.join(', ')}; its images may still run there`,
    );
  }
  if (options.verbose) {
    lines.push(`Decisions (${plan.items.length})`);
    for (const item of plan.items) lines.push(`${imageLine(item)} ${item.reason}`);
  }
  const toDelete = plan.blockedBy.length > 0 ? [] : plan.items.filter((item) => item.decision === 'delete');
  lines.push(`Images to delete (${toDelete.length})`);
  for (const item of toDelete) lines.push(imageLine(item));
  if (options.dryRun) {
    lines.push('Dry run: nothing was deleted');
    return lines;
  }
  const deleted = outcomes.filter((outcome) => outcome.status === 'deleted');
  const failed = outcomes.filter((outcome) => outcome.status !== 'deleted');
  lines.push(`Deleted (${deleted.length})`);
  for (const { item } of deleted) lines.push(`  ${shortDigest(item.digest)} (${item.tags.join(', ')})`);
  lines.push(`Failures (${failed.length})`);
  // aws-ecr-gc's shape (digest, then what went wrong), then the manifest's own tags, as every line
  // of these sections shows them.
  for (const outcome of failed) {
    const what =
      outcome.status === 'failed' ? `${outcome.code}: ${outcome.message}` : `Skipped: ${outcome.reason}`;
    lines.push(`  ${shortDigest(outcome.item.digest)} ${what} [${outcome.item.tags.join(', ')}]`);
  }
  return lines;
}

function imageLine(item: PlanItem): string {
  return `  ${formatUtc(item.pushedAt)}: ${shortDigest(item.digest)} [${item.tags.join(', ')}]`;
}
