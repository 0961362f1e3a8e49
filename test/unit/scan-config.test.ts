import { PolicyError } from '../../lambdas/core/errors';
import { parseKeepRule } from '../../lambdas/core/policy';
import { parseScanConfig, SCAN_DEFAULT_POLICY } from '../../lambdas/core/scan-config';

describe('parseScanConfig', () => {
  it('uses the serve defaults when nothing is configured', () => {
    const config = parseScanConfig(undefined);
    expect(config.policyFor('any')).toEqual(SCAN_DEFAULT_POLICY);
    expect(config.manages('any/repository')).toBe(true);
    expect(config.linkExpiryDays).toBe(7);
  });

  it('applies the first override whose glob matches, on top of the base policy', () => {
    const config = parseScanConfig({
      repositories: ['team-a/*', 'web'],
      policy: { unusedDays: 14 },
      overrides: [{ repositories: 'team-a/legacy-*', policy: { keep: ['v=5'], unusedTagged: false } }],
    });
    expect(config.manages('team-a/api')).toBe(true);
    expect(config.manages('team-b/api')).toBe(false);
    expect(config.policyFor('team-a/legacy-app')).toMatchObject({
      unusedDays: 14,
      rules: { keep: [parseKeepRule('v=5')], unusedTagged: false, deleteUntagged: true },
    });
    expect(config.policyFor('web').rules.keep).toEqual([]);
  });

  it.each([
    [{ policy: { unusedDays: 91 } }, 'policy.unusedDays: at most 90'],
    [{ policy: { keep: ['build'] } }, '--keep expects PREFIX=N'],
    [{ policy: { bogus: 1 } }, 'policy'],
    [{ overrides: [{ repositories: '', policy: {} }] }, 'overrides.0.repositories'],
    [{ linkExpiryDays: 31 }, 'linkExpiryDays'],
    // An empty list would manage nothing: scans would run and say nothing.
    [{ repositories: [] }, 'repositories: list at least one repository or glob'],
  ])('refuses %j naming the field', (value, message) => {
    expect(() => parseScanConfig(value)).toThrow(PolicyError);
    expect(() => parseScanConfig(value)).toThrow(message);
  });

  it('names the globs that match no listed repository (a typo scans nothing, or loses an override)', () => {
    const config = parseScanConfig({
      repositories: ['team-a/*', 'tema-b/*', 'web'],
      overrides: [
        { repositories: 'team-a/legacy-*', policy: { unusedDays: 30 } },
        { repositories: 'prod*', policy: { unusedDays: 60 } },
      ],
    });
    expect(config.unmatchedGlobs(['team-a/web', 'team-a/legacy-app', 'web', 'prod/web'])).toEqual([
      'tema-b/*',
      'prod*',
    ]);
    expect(config.unmatchedGlobs(['team-a/web', 'team-a/legacy-app', 'web', 'prod-web', 'tema-b/x'])).toEqual(
      [],
    );
  });
});
