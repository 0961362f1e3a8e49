import fc from 'fast-check';
import { buildFamilies } from '../../lambdas/core/image-family';
import { familyUsage, protectionContext, UNUSED } from '../../lambdas/core/protections';
import { rootFacts } from '../../lambdas/core/root-facts';
import { indexSightings } from '../../lambdas/core/sighting-index';
import { scenarioArbitrary } from '../fixtures/arbitraries';

describe('rootFacts', () => {
  it('marks a root quiet only when its family alone would be unused, and reads each push time', () => {
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
            if (facts.quiet[i] === 1) {
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
});
