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
  const text = JSON.stringify(input);
  const bytes = Buffer.byteLength(text);
  if (bytes > SCAN_CONFIG_MAX_BYTES) {
    throw new RegistryJanitorConfigError(
      `the scan settings (SCAN_CONFIG) take ${bytes} bytes, more than the ${SCAN_CONFIG_MAX_BYTES} that fit beside the other settings in a function's 4 KB of environment variables: select the repositories with fewer names or patterns (build/*), or by tag (RepositorySelection.tagged), or protect fewer tags`,
      scope,
    );
  }
  return text;
}

/**
 * What `SCAN_CONFIG` may take: Lambda allows 4 KB of environment variables per function, and the
 * rest (table, secret and queue names, settings) takes under 1 KB. Refused at synth rather than
 * at deploy.
 */
export const SCAN_CONFIG_MAX_BYTES = 3072;
