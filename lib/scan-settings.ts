import type { IConstruct } from 'constructs';
import { PolicyError } from '../lambdas/core/errors';
import { parseScanConfig, type ScanConfigInput } from '../lambdas/core/scan-config';
import { RegistryJanitorConfigError } from './errors';
import type { ResolvedJanitorProps } from './registry-janitor-props';

/**
 * The scanner's and deleter's `SCAN_CONFIG` (JSON for `parseScanConfig`): the policy, the stale
 * limit, the link expiry, and the repositories when the selection names them. Both functions get
 * the same text, so the deleter re-checks with the policy the scan planned with. Checked here, so
 * that a policy the functions would refuse stops the synth (naming the construct), not a scan.
 */
export function scanConfigOf(scope: IConstruct, settings: ResolvedJanitorProps): string {
  const selection = settings.repositories.toJson();
  const input: ScanConfigInput = {
    // A tag selection is enforced by IAM and by the scanner, which lists only tagged repositories.
    ...('names' in selection ? { repositories: [...selection.names] } : {}),
    ...('tag' in selection ? { repositoryTag: selection.tag } : {}),
    policy: {
      unusedDays: settings.policy.unusedDays,
      minAgeDays: settings.policy.minAgeDays,
      deleteUntagged: settings.policy.deleteUntagged,
      unusedTagged: settings.policy.unusedTagged,
      protectTags: [...settings.policy.protectTags],
      staleAfterHours: settings.staleAfterHours,
    },
    linkExpiryDays: settings.linkExpiryDays,
  };
  try {
    parseScanConfig(input);
  } catch (error) {
    if (error instanceof PolicyError) throw new RegistryJanitorConfigError(error.message, scope);
    throw error;
  }
  return JSON.stringify(input);
}
