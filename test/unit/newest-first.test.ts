import fc from 'fast-check';
import { applyDeleteRules } from '../../lambdas/core/delete-rules';
import type { RegistryImage } from '../../lambdas/core/model';
import { compareNewestFirst, newestFirstOrder } from '../../lambdas/core/newest-first';
import { parseKeepRule } from '../../lambdas/core/policy';
import { digestOf, NOW } from '../fixtures/builders';

const image = (name: string, pushedAt: Date, tags: string[] = []): RegistryImage => ({
  repository: 'web',
  digest: digestOf(name),
  tags,
  pushedAt,
  sizeBytes: 1,
});

/** Random roots: few distinct push times (ties), some invalid dates, distinct digests. */
const roots = fc
  .array(
    fc.record({
      minutes: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(Number.NaN)),
      tags: fc.subarray(['build-1', 'build-2', 'v1', 'pr-3', 'release-9'], { maxLength: 2 }),
    }),
    { maxLength: 60 },
  )
  .map((specs) =>
    specs.map(({ minutes, tags }, i) => image(`r${i}`, new Date(NOW.getTime() - minutes * 60_000), tags)),
  );

describe('newestFirstOrder', () => {
  it('ranks newest push first, equal times by digest, and an invalid date as the oldest', () => {
    const newest = image('a', new Date('2026-11-20T00:00:00Z'));
    const invalid = image('b', new Date(Number.NaN));
    const older = image('c', new Date('2026-11-01T00:00:00Z'));
    const sameAsOlder = image('d', new Date('2026-11-01T00:00:00Z'));
    const images = [invalid, older, newest, sameAsOlder];

    const ranked = [...newestFirstOrder(images)].map((i) => images[i]!);

    const [first, second] = [older, sameAsOlder].sort((x, y) => (x.digest < y.digest ? -1 : 1));
    expect(ranked).toEqual([newest, first, second, invalid]);
  });

  it('is the comparator sort, for any push times, ties and invalid dates', () => {
    fc.assert(
      fc.property(roots, (images) => {
        const byComparator = [...images].sort(compareNewestFirst);
        expect([...newestFirstOrder(images)].map((i) => images[i]!)).toEqual(byComparator);
      }),
      { numRuns: 500 },
    );
  });
});

describe('applyDeleteRules with a ranking', () => {
  it('gives the k-th newest root the verdict it gets when the roots are passed newest first', () => {
    const rules = {
      keep: [parseKeepRule('build=1'), parseKeepRule('release=1')],
      deleteUntagged: true,
      unusedTagged: false,
    };
    const options = { unusedDays: 7, now: NOW };
    fc.assert(
      fc.property(roots, (images) => {
        const order = newestFirstOrder(images);
        const ranked = [...order].map((i) => images[i]!);
        expect(applyDeleteRules(images, rules, options, order)).toEqual(
          applyDeleteRules(ranked, rules, options),
        );
      }),
      { numRuns: 500 },
    );
  });
});
