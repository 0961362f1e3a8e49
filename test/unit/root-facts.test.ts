import fc from 'fast-check';
import { buildFamilies } from '../../lambdas/core/image-family';
import {
  familyUsage,
  nothingProtects,
  protectionContext,
  UNUSED,
  usedFamilies,
} from '../../lambdas/core/protections';
import { rootFacts } from '../../lambdas/core/root-facts';
import { indexSightings } from '../../lambdas/core/sighting-index';
import { scenarioArbitrary } from '../fixtures/arbitraries';
import { anImage, aPolicy, NOW } from '../fixtures/builders';

describe('rootFacts', () => {
  it('finds a root unused only when its family alone would be, and spares it only what changes nothing', () => {
    let quietRoots = 0;
    let usedRoots = 0;
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const index = indexSightings(scenario.sightings, scenario.clusterReports);
        const hosts = scenario.registryHosts
          ? new Set(scenario.registryHosts.map((host) => host.toLowerCase()))
          : undefined;
        for (const { repository, images } of scenario.repositories) {
          const families = buildFamilies(images);
          const sightings = index.forRepository(repository, images, hosts);
          const context = protectionContext(scenario.policy, sightings, scenario.now);
          const facts = rootFacts(families.roots, scenario.policy.rules.keep, context);
          families.roots.forEach((root, i) => {
            expect(Object.is(facts.times[i], root.pushedAt.getTime())).toBe(true);
            const alone = familyUsage(root, [], context);
            // What the bits spare a root alone changes nothing.
            expect(familyUsage(root, [], context, facts.times[i], facts.use[i])).toEqual(alone);
            if (facts.use[i] === 0) {
              quietRoots += 1;
              expect(alone).toBe(UNUSED);
            } else if (alone !== UNUSED) usedRoots += 1;
          });
        }
      }),
      { numRuns: 300 },
    );
    // The scenarios reach both sides, so the check above is not vacuous.
    expect(quietRoots).toBeGreaterThan(0);
    expect(usedRoots).toBeGreaterThan(0);
  });

  it('says nothing protects only when every family is unused, and says it for aws-ecr-gc-like runs', () => {
    let quiet = 0;
    let loud = 0;
    const kinds = ['sightings', 'pulls', 'minimum age', 'protected tags'] as const;
    fc.assert(
      fc.property(
        scenarioArbitrary(),
        fc.constantFrom('nothing', 'all', ...kinds.map((kind) => `all but ${kind}`)),
        (scenario, stripped) => {
          // Most runs strip what could protect, all of it or all but one kind.
          const strips = (kind: (typeof kinds)[number]) =>
            stripped === 'all' || (stripped.startsWith('all but') && stripped !== `all but ${kind}`);
          const policy = {
            ...scenario.policy,
            ...(strips('minimum age') ? { minAgeDays: 0 } : {}),
            ...(strips('protected tags') ? { protectTags: [] } : {}),
          };
          const index = indexSightings(
            strips('sightings') ? [] : scenario.sightings,
            scenario.clusterReports,
          );
          const hosts = scenario.registryHosts
            ? new Set(scenario.registryHosts.map((host) => host.toLowerCase()))
            : undefined;
          for (const { repository, images: listed } of scenario.repositories) {
            const images = strips('pulls')
              ? listed.map((image) => ({ ...image, lastPulledAt: undefined }))
              : listed;
            const families = buildFamilies(images);
            const context = protectionContext(
              policy,
              index.forRepository(repository, images, hosts),
              scenario.now,
            );
            const usages = usedFamilies(families, context);
            if (nothingProtects(context, images)) {
              quiet += 1;
              for (const usage of usages) expect(usage).toBe(UNUSED);
            } else {
              loud += 1;
              expect(stripped).not.toBe('all');
            }
          }
        },
      ),
      { numRuns: 600 },
    );
    expect(quiet).toBeGreaterThan(0);
    expect(loud).toBeGreaterThan(0);
  });

  it.each([
    ['an index pulled (every scan reads it)', true, { pulled: 'index' }],
    ['a platform child pulled', false, { pulled: 'child' }],
    ['nothing pulled', true, { pulled: 'none' }],
  ] as const)('with %s, nothing protects: %s', (_case, expected, { pulled }) => {
    // Prepare: one multi-arch family and a single image, aws-ecr-gc's flags only.
    const amd64 = pulled === 'child' ? anImage('amd64').pulledDaysAgo(1).build() : anImage('amd64').build();
    const arm64 = anImage('arm64').build();
    const index = anImage('index').tagged('v1').indexOf([amd64, arm64]);
    const images = [
      pulled === 'index' ? index.pulledDaysAgo(1).build() : index.build(),
      amd64,
      arm64,
      anImage('one').build(),
    ];
    const context = protectionContext(
      aPolicy(),
      indexSightings([]).forRepository('web', images, undefined),
      NOW,
    );

    // Act
    const quiet = nothingProtects(context, images);

    // Assess
    expect(quiet).toBe(expected);
    const usages = usedFamilies(buildFamilies(images), context);
    expect(usages.every((usage) => usage === UNUSED)).toBe(expected);
  });
});
