import fc from 'fast-check';
import { applyDeleteRules, applyKeepRules } from '../../lambdas/core/delete-rules';
import { parseKeepRule } from '../../lambdas/core/policy';
import { anImage, NOW } from '../fixtures/builders';

/** Images newest first: the first name is the newest. */
function newestFirst(...tagSets: string[][]) {
  return tagSets.map((tags, i) =>
    anImage(`img-${i}`)
      .tagged(...tags)
      .pushedDaysAgo(i + 1)
      .build(),
  );
}

function candidates(tagSets: string[][], keep: string[]): string[] {
  const images = newestFirst(...tagSets);
  const verdicts = applyKeepRules(images, keep.map(parseKeepRule));
  return images
    .filter((_, index) => verdicts[index]?.decision === 'delete')
    .map((image) => image.tags.join('+'));
}

/**
 * aws-ecr-gc's `ImagesToDelete` (gc/gc.go), restated over images newest first: for each image,
 * each of its tags, each prefix it starts with, the image is recent when that prefix has counted
 * fewer than its N, and the prefix counts the tag. Candidates: managed (every tag under some
 * prefix), under some prefix, and recent under none.
 */
function ecrGcCandidates(tagSets: readonly string[][], keep: ReadonlyMap<string, number>): number[] {
  const seen = new Map<string, number>();
  const chosen: number[] = [];
  tagSets.forEach((tags, index) => {
    if (tags.length === 0) return;
    const unmanaged = tags.some((tag) => ![...keep.keys()].some((prefix) => tag.startsWith(prefix)));
    let candidate = false;
    let recent = false;
    for (const tag of tags) {
      for (const [prefix, count] of keep) {
        if (!tag.startsWith(prefix)) continue;
        candidate = true;
        if ((seen.get(prefix) ?? 0) < count) recent = true;
        seen.set(prefix, (seen.get(prefix) ?? 0) + 1);
      }
    }
    if (candidate && !recent && !unmanaged) chosen.push(index);
  });
  return chosen;
}

describe('keep PREFIX=N (aws-ecr-gc semantics)', () => {
  it('selects what aws-ecr-gc deletes, over random tag sets and rules', () => {
    const prefix = fc.constantFrom('build', 'build-x', 'release', 'rel');
    const tag = fc
      .tuple(fc.constantFrom('build', 'build-x', 'release', 'latest', 'v'), fc.nat(9))
      .map(([head, n]) => `${head}-${n}`);
    fc.assert(
      fc.property(
        fc.array(fc.uniqueArray(tag, { maxLength: 3 }), { maxLength: 12 }),
        fc.uniqueArray(fc.tuple(prefix, fc.nat(4)), { selector: ([p]) => p, minLength: 1, maxLength: 3 }),
        (tagSets, rules) => {
          const images = newestFirst(...tagSets);
          const verdicts = applyKeepRules(
            images,
            rules.map(([p, count]) => ({ prefix: p, count })),
          );
          const ours = images.flatMap((_, index) => (verdicts[index]?.decision === 'delete' ? [index] : []));
          expect(ours).toEqual(ecrGcCandidates(tagSets, new Map(rules)));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it.each([
    {
      name: 'deletes all but the newest N images under a prefix',
      tags: [['build-5'], ['build-4'], ['build-3'], ['build-2'], ['build-1']],
      keep: ['build=2'],
      expected: ['build-3', 'build-2', 'build-1'],
    },
    {
      name: 'keeps an image that has any tag matching no prefix (not managed)',
      tags: [['build-3'], ['build-2', 'latest'], ['build-1']],
      keep: ['build=0'],
      expected: ['build-3', 'build-1'],
    },
    {
      name: 'keeps an image with tags under several prefixes when any prefix keeps it',
      tags: [['build-3'], ['build-2'], ['build-1', 'release-1']],
      keep: ['build=1', 'release=1'],
      expected: ['build-2'],
    },
    {
      name: 'counts an unmanaged image in the newest N of its prefix',
      tags: [['build-3', 'latest'], ['build-2'], ['build-1']],
      keep: ['build=2'],
      expected: ['build-1'],
    },
    {
      // aws-ecr-gc's gc.go counts tags: seenCounts[p]++ for each tag under p.
      name: 'counts each tag under a prefix, as aws-ecr-gc does',
      tags: [['build-3', 'build-3b'], ['build-2'], ['build-1']],
      keep: ['build=2'],
      expected: ['build-2', 'build-1'],
    },
    {
      name: 'keeps an image while fewer than N tags were counted, whatever its own tags add',
      tags: [['build-4'], ['build-3', 'build-3b', 'build-3c'], ['build-2'], ['build-1']],
      keep: ['build=2'],
      expected: ['build-2', 'build-1'],
    },
    {
      name: 'leaves untagged images to --delete-untagged',
      tags: [[], ['build-2'], ['build-1']],
      keep: ['build=1'],
      expected: ['build-1'],
    },
    {
      name: 'keeps nothing of a prefix with N=0',
      tags: [['release-2'], ['release-1']],
      keep: ['release=0'],
      expected: ['release-2', 'release-1'],
    },
    {
      name: 'matches prefixes literally, overlapping prefixes each counting',
      tags: [['build-prod-2'], ['build-prod-1'], ['build-1']],
      keep: ['build=2', 'build-prod=1'],
      expected: ['build-1'],
    },
  ])('$name', ({ tags, keep, expected }) => {
    expect(candidates(tags, keep)).toEqual(expected);
  });

  it('gives the reason of each decision', () => {
    // Prepare
    const images = newestFirst(['build-2'], ['build-1'], ['build-0', 'latest']);

    // Act
    const verdicts = applyKeepRules(images, [parseKeepRule('build=1')]);

    // Assess
    expect(verdicts[0]?.reason).toBe('kept: among the newest 1 build*');
    expect(verdicts[1]?.reason).toBe('delete: build* beyond the newest 1');
    expect(verdicts[2]?.reason).toBe("kept: tag 'latest' matches no --keep prefix");
  });

  it('with no rule, manages no tagged image', () => {
    const verdicts = applyKeepRules(newestFirst(['latest'], []), []);

    expect(verdicts[0]?.reason).toBe("kept: tag 'latest' matches no --keep prefix");
    expect(verdicts[1]).toBeUndefined();
  });

  it.each(['build', 'build=', '=3', 'build=-1', 'build=x', 'build=1.5'])('rejects --keep %j', (value) => {
    expect(() => parseKeepRule(value)).toThrow('--keep expects PREFIX=N');
  });
});

describe('applyDeleteRules', () => {
  const options = { unusedDays: 7, now: NOW };

  it.each([
    { rules: { deleteUntagged: true, unusedTagged: false }, untagged: true, tagged: false },
    { rules: { deleteUntagged: false, unusedTagged: true }, untagged: false, tagged: true },
    { rules: { deleteUntagged: true, unusedTagged: true }, untagged: true, tagged: true },
    { rules: { deleteUntagged: false, unusedTagged: false }, untagged: false, tagged: false },
  ])('with $rules selects untagged=$untagged tagged=$tagged', ({ rules, untagged, tagged }) => {
    // Prepare
    const [plain, labelled] = [anImage('u').build(), anImage('t').tagged('v1').build()];

    // Act
    const [forLabelled, forPlain] = applyDeleteRules([labelled, plain], { keep: [], ...rules }, options);

    // Assess
    expect(forPlain?.decision === 'delete').toBe(untagged);
    expect(forLabelled?.decision === 'delete').toBe(tagged);
  });

  it('selects an image when any rule selects it, even if a keep rule keeps it', () => {
    // Prepare
    const images = newestFirst(['build-2'], ['build-1']);

    // Act
    const verdicts = applyDeleteRules(
      images,
      { keep: [parseKeepRule('build=5')], deleteUntagged: false, unusedTagged: true },
      options,
    );

    // Assess
    expect(verdicts[0]).toEqual({
      decision: 'delete',
      reason: 'delete: tagged, not seen for 7 days',
    });
  });

  it('keeps what no rule matches, saying so', () => {
    const image = anImage('x').tagged('v1').build();
    const verdicts = applyDeleteRules(
      [image],
      { keep: [], deleteUntagged: true, unusedTagged: false },
      options,
    );
    expect(verdicts[0]).toEqual({ decision: 'keep', reason: 'kept: no delete rule matches' });
  });
});
