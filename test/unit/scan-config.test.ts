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
    [{ policy: { keep: ['build'] } }, "policy: keep.0: expects PREFIX=N with N a whole number, got 'build'"],
    [
      { overrides: [{ repositories: 'web', policy: { keep: ['v=1', 'v=2.5'] } }] },
      "overrides.0.policy: keep.1: expects PREFIX=N with N a whole number, got 'v=2.5'",
    ],
    // The link must last whole days, and a cluster may be silent a week at most, as deployed.
    [{ linkExpiryDays: 0.00001 }, 'linkExpiryDays: a whole number of days'],
    [{ linkExpiryDays: 0 }, 'linkExpiryDays'],
    [{ policy: { staleAfterHours: 1e12 } }, 'policy.staleAfterHours: at most 168 (a week)'],
    [
      {
        overrides: [
          { repositories: 'web', policy: { unusedDays: 30 } },
          { repositories: 'web', policy: { unusedTagged: false } },
        ],
      },
      "overrides.1.repositories: 'web' is also overrides.0's, which wins",
    ],
    [{ policy: { bogus: 1 } }, 'policy'],
    [{ overrides: [{ repositories: '', policy: {} }] }, 'overrides.0.repositories'],
    [{ linkExpiryDays: 31 }, 'linkExpiryDays'],
    // An empty list would manage nothing: scans would run and say nothing.
    [{ repositories: [] }, 'repositories: list at least one repository or glob'],
  ])('refuses %j naming the field', (value, message) => {
    expect(() => parseScanConfig(value)).toThrow(PolicyError);
    expect(() => parseScanConfig(value)).toThrow(message);
  });

  it("adds an override's protected tags to the base's: an override never takes a protection away", () => {
    // Prepare
    const config = parseScanConfig({
      policy: { protectTags: ['release-*'], unusedDays: 14 },
      overrides: [{ repositories: 'legacy/*', policy: { protectTags: ['v*', 'release-*'], unusedDays: 30 } }],
    });

    // Act
    const legacy = config.policyFor('legacy/api');

    // Assess
    expect(legacy.protectTags).toEqual(['release-*', 'v*']);
    expect(legacy.unusedDays).toBe(30);
    expect(config.policyFor('web').protectTags).toEqual(['release-*']);
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
