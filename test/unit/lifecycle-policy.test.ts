import { PolicyError } from '../../lambdas/core/errors';
import {
  evaluateLifecyclePolicy,
  type LifecycleImage,
  type LifecyclePolicy,
  lifecycleOutcome,
  parseLifecyclePolicy,
} from '../../lambdas/core/lifecycle-policy';

const NOW = new Date('2026-11-22T12:00:00Z');
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

type NamedImage = LifecycleImage & { readonly name: string };

/** An image called `name` ("A", "B", ...); digests sort like names. */
function image(name: string, tags: readonly string[], daysAgo: number): NamedImage {
  const hex = [...name].map((c) => c.charCodeAt(0).toString(16)).join('');
  return {
    name,
    digest: `sha256:${hex.repeat(64).slice(0, 64)}`,
    tags,
    pushedAt: new Date(NOW.getTime() - daysAgo * DAY_MS),
  };
}

function rule(rulePriority: number, selection: object, extra: object = {}): object {
  return { rulePriority, selection, action: { type: 'expire' }, ...extra };
}

function policyText(...rules: object[]): string {
  return JSON.stringify({ rules });
}

/** Names of the images the policy expires, in name order. */
function expiredNames(text: string, images: readonly NamedImage[], now: Date = NOW): string[] {
  const expired = evaluateLifecyclePolicy(parseLifecyclePolicy(text), images, now);
  return images
    .filter((i) => expired.has(i.digest))
    .map((i) => i.name)
    .sort();
}

function rejectionOf(text: string): PolicyError {
  try {
    parseLifecyclePolicy(text);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError, but the policy was accepted');
}

const untaggedCount = { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 };
const prodCount = {
  tagStatus: 'tagged',
  tagPatternList: ['prod*'],
  countType: 'imageCountMoreThan',
  countNumber: 3,
};
const prodAge = { ...prodCount, countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 };
const allCount = { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 };

/** The user guide's repository for "Filtering on multiple rules". */
const multipleRulesRepository = [
  image('A', ['beta-1', 'prod-1'], 10),
  image('B', ['beta-2', 'prod-2'], 9),
  image('C', ['beta-3'], 8),
];

describe('parseLifecyclePolicy', () => {
  it('reads a valid policy into typed rules, keeping descriptions and count units', () => {
    // Prepare
    const text = policyText(rule(1, prodAge, { description: 'old prod' }), rule(2, untaggedCount));

    // Act
    const policy = parseLifecyclePolicy(text);

    // Assess
    expect(policy).toEqual<LifecyclePolicy>({
      rules: [
        {
          rulePriority: 1,
          description: 'old prod',
          selection: {
            tagStatus: 'tagged',
            tagPatternList: ['prod*'],
            countType: 'sinceImagePushed',
            countUnit: 'days',
            countNumber: 14,
          },
          action: { type: 'expire' },
        },
        {
          rulePriority: 2,
          selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'expire' },
        },
      ],
    });
  });

  it.each<[string, unknown[], string]>([
    [
      'rulePriority is missing',
      [{ selection: untaggedCount, action: { type: 'expire' } }],
      'rulePriority is required',
    ],
    ['rulePriority is 0', [rule(0, untaggedCount)], 'rulePriority must be a whole number ≥ 1, got 0'],
    [
      'rulePriority is not whole',
      [rule(1.5, untaggedCount)],
      'rulePriority must be a whole number ≥ 1, got 1.5',
    ],
    ['rulePriority is a string', [{ ...rule(1, untaggedCount), rulePriority: '1' }], 'got "1"'],
    [
      'two rules share a rulePriority',
      [rule(1, prodCount), rule(1, untaggedCount)],
      'rule 2 (rulePriority 1): rulePriority 1 is already used by rule 1 (rulePriority 1)',
    ],
    [
      'tagStatus is missing',
      [rule(1, { countType: 'imageCountMoreThan', countNumber: 1 })],
      'tagStatus is required',
    ],
    [
      'tagStatus is unknown',
      [rule(1, { ...untaggedCount, tagStatus: 'TAGGED' })],
      `tagStatus must be 'tagged', 'untagged' or 'any', got "TAGGED"`,
    ],
    [
      'a tagged rule has no tag list',
      [rule(1, { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 })],
      "tagStatus 'tagged' needs a selection.tagPatternList or a selection.tagPrefixList",
    ],
    [
      'a tagged rule has both tag lists',
      [rule(1, { ...prodCount, tagPrefixList: ['prod'] })],
      'tagPrefixList and selection.tagPatternList cannot both be given',
    ],
    [
      'an untagged rule has a tagPrefixList',
      [rule(1, { ...untaggedCount, tagPrefixList: ['prod'] })],
      "selection.tagPrefixList is only allowed with tagStatus 'tagged', not 'untagged'",
    ],
    [
      'an any rule has a tagPatternList',
      [rule(1, { ...allCount, tagPatternList: ['prod*'] })],
      "selection.tagPatternList is only allowed with tagStatus 'tagged', not 'any'",
    ],
    [
      'an any rule is not the last',
      [rule(1, allCount), rule(2, prodCount)],
      "rule 1 (rulePriority 1): a tagStatus 'any' rule must have the highest rulePriority (2 is higher)",
    ],
    [
      'two rules select any image',
      [rule(1, allCount), rule(2, { ...allCount, countNumber: 9 })],
      "rule 2 (rulePriority 2): only one rule may have tagStatus 'any' (it must come last), and rule 1 (rulePriority 1) already does",
    ],
    [
      'a pattern has more than four wildcards',
      [rule(1, { ...prodCount, tagPatternList: ['test*1*2*3*4*5*6'] })],
      "'test*1*2*3*4*5*6' has 6 wildcards (*); at most 4 are allowed",
    ],
    [
      'a tag list is empty',
      [rule(1, { ...prodCount, tagPatternList: [] })],
      'selection.tagPatternList must be a non-empty list of strings',
    ],
    [
      'a tag list holds an empty prefix',
      [
        rule(1, {
          tagStatus: 'tagged',
          tagPrefixList: [''],
          countType: 'imageCountMoreThan',
          countNumber: 1,
        }),
      ],
      'selection.tagPrefixList must hold non-empty strings only, got ""',
    ],
    [
      'countType is missing',
      [rule(1, { tagStatus: 'untagged', countNumber: 1 })],
      'selection.countType is required',
    ],
    [
      'countType is unknown',
      [rule(1, { ...untaggedCount, countType: 'imageCountLessThan' })],
      `countType must be 'imageCountMoreThan' or 'sinceImagePushed', got "imageCountLessThan"`,
    ],
    [
      'sinceImagePushed has no countUnit',
      [rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 14 })],
      "selection.countUnit is required with countType 'sinceImagePushed'",
    ],
    [
      'countUnit is not days',
      [rule(1, { ...prodAge, countUnit: 'hours' })],
      `selection.countUnit must be 'days', got "hours"`,
    ],
    [
      'imageCountMoreThan has a countUnit',
      [rule(1, { ...untaggedCount, countUnit: 'days' })],
      "selection.countUnit is only allowed with countType 'sinceImagePushed'",
    ],
    [
      'countNumber is 0',
      [rule(1, { ...untaggedCount, countNumber: 0 })],
      'countNumber must be a whole number ≥ 1, got 0',
    ],
    [
      'countNumber is negative',
      [rule(1, { ...prodAge, countNumber: -3 })],
      'countNumber must be a whole number ≥ 1, got -3',
    ],
    ['countNumber is not whole', [rule(1, { ...prodAge, countNumber: 2.5 })], 'got 2.5'],
    [
      'countNumber is missing',
      [rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan' })],
      'selection.countNumber is required',
    ],
    [
      'the action is not expire',
      [rule(1, untaggedCount, { action: { type: 'delete' } })],
      `action.type must be 'expire', got "delete"`,
    ],
    ['the action is missing', [{ rulePriority: 1, selection: untaggedCount }], 'action is required'],
    [
      'two rules select untagged images',
      [rule(1, untaggedCount), rule(2, { ...untaggedCount, countNumber: 5 })],
      'rule 2 (rulePriority 2): only one rule may select untagged images, and rule 1 (rulePriority 1) already does',
    ],
    [
      'two rules have the same set of tag prefixes',
      [
        rule(1, {
          tagStatus: 'tagged',
          tagPrefixList: ['a', 'b'],
          countType: 'imageCountMoreThan',
          countNumber: 1,
        }),
        rule(2, {
          tagStatus: 'tagged',
          tagPrefixList: ['b', 'a'],
          countType: 'imageCountMoreThan',
          countNumber: 2,
        }),
      ],
      'tagPrefixList [a, b] repeats rule 1 (rulePriority 1)',
    ],
    [
      'a property is misspelt',
      [rule(1, { ...untaggedCount, countNumbr: 1 })],
      'unknown property selection.countNumbr',
    ],
    ['a rule is not an object', ['expire everything'], 'rule 1: must be an object'],
  ])('rejects a policy where %s', (_, rules, expected) => {
    // Prepare
    const text = JSON.stringify({ rules });

    // Act
    const error = rejectionOf(text);

    // Assess
    expect(error.problems.some((problem) => problem.includes(expected))).toBe(true);
    expect(error.message).toContain(expected);
  });

  it.each<[string, string, string]>([
    ['text that is not JSON', '{"rules": [', 'the lifecycle policy is not valid JSON'],
    ['a policy without rules', '{"rules": []}', '"rules" must be a list of at least one rule'],
    ['a JSON list instead of a policy', '[]', 'a lifecycle policy must be a JSON object'],
    [
      'a top-level property ECR does not know',
      '{"rules": [], "version": 2}',
      'unknown property policy.version',
    ],
  ])('rejects %s', (_, text, expected) => {
    // Act
    const error = rejectionOf(text);

    // Assess
    expect(error.message).toContain(expected);
  });

  it.each<[string, object]>([
    [
      'the guide’s archive rule for images not pulled in 90 days',
      rule(
        1,
        { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
        {
          action: { type: 'transition', targetStorageClass: 'archive' },
        },
      ),
    ],
    [
      'the guide’s expiry of images archived for more than 365 days',
      rule(1, {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 365,
      }),
    ],
    [
      'the guide’s archive rule for prod images older than 30 days',
      rule(
        1,
        { ...prodAge, countNumber: 30 },
        { action: { type: 'transition', targetStorageClass: 'archive' } },
      ),
    ],
  ])('reports %s as unsupported rather than ignoring it', (_, archiveRule) => {
    // Prepare
    const text = policyText(archiveRule);

    // Act
    const error = rejectionOf(text);

    // Assess
    expect(error.problems.length).toBeGreaterThan(0);
    for (const problem of error.problems) {
      expect(problem).toMatch(/^rule 1 \(rulePriority 1\): registry-janitor does not support /);
    }
  });

  it('names each unsupported archive feature of a rule', () => {
    // Prepare
    const text = policyText(
      rule(1, {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 365,
      }),
    );

    // Act
    const error = rejectionOf(text);

    // Assess
    expect(error.problems).toEqual([
      expect.stringContaining("registry-janitor does not support selection.storageClass 'archive'"),
      expect.stringContaining("registry-janitor does not support countType 'sinceImageTransitioned'"),
    ]);
  });

  it('accepts storageClass standard, which ECR uses when it is left out', () => {
    // Prepare
    const text = policyText(rule(1, { ...untaggedCount, storageClass: 'standard' }));

    // Act
    const policy = parseLifecyclePolicy(text);

    // Assess
    expect(policy.rules[0]?.selection).toEqual(untaggedCount);
  });

  it('accepts the guide’s valid patterns with four wildcards', () => {
    // Prepare
    const text = policyText(rule(1, { ...prodCount, tagPatternList: ['*test*1*2*3', 'test*1*2*3*'] }));

    // Act
    const policy = parseLifecyclePolicy(text);

    // Assess
    expect(policy.rules[0]?.selection.tagPatternList).toEqual(['*test*1*2*3', 'test*1*2*3*']);
  });

  it('collects every problem of every rule and names the rule of each, never reading part of a policy', () => {
    // Prepare
    const text = policyText(
      rule(10, { ...prodCount, countNumber: 0 }),
      rule(
        20,
        { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 7 },
        { action: { type: 'transition' } },
      ),
    );

    // Act
    const error = rejectionOf(text);

    // Assess
    expect(error.problems).toEqual([
      'rule 1 (rulePriority 10): selection.countNumber must be a whole number ≥ 1, got 0',
      `rule 2 (rulePriority 20): selection.countUnit is required with countType 'sinceImagePushed': add "countUnit": "days"`,
      expect.stringMatching(
        /^rule 2 \(rulePriority 20\): registry-janitor does not support action.type 'transition'/,
      ),
    ]);
    expect(error.message).toMatch(/^invalid lifecycle policy \(3 problems\): rule 1 \(rulePriority 10\)/);
    expect(error.message).toContain('; rule 2 (rulePriority 20): selection.countUnit is required');
  });

  it('reads the policy out of AWS CLI get-lifecycle-policy output', () => {
    // Prepare
    const inner = policyText(rule(1, prodAge), rule(2, untaggedCount));
    const cliOutput = JSON.stringify({
      registryId: '123456789012',
      repositoryName: 'web',
      lifecyclePolicyText: inner,
      lastEvaluatedAt: '2026-11-20T08:00:00+00:00',
    });

    // Act
    const policy = parseLifecyclePolicy(cliOutput);

    // Assess
    expect(policy).toEqual(parseLifecyclePolicy(inner));
    expect(policy.rules).toHaveLength(2);
  });

  it('validates the policy inside get-lifecycle-policy output as strictly as a bare one', () => {
    // Prepare
    const cliOutput = JSON.stringify({
      lifecyclePolicyText: policyText(rule(1, { ...untaggedCount, countNumber: 0 })),
    });

    // Act
    const error = rejectionOf(cliOutput);

    // Assess
    expect(error.problems).toEqual([
      'rule 1 (rulePriority 1): selection.countNumber must be a whole number ≥ 1, got 0',
    ]);
  });

  it('rejects get-lifecycle-policy output whose lifecyclePolicyText is not a string', () => {
    // Act
    const error = rejectionOf(JSON.stringify({ lifecyclePolicyText: { rules: [] } }));

    // Assess
    expect(error.message).toContain('lifecyclePolicyText must be a string');
  });

  it('rejects keys beside lifecyclePolicyText: a second policy there would be read silently otherwise', () => {
    const inner = policyText(rule(1, untaggedCount));
    const error = rejectionOf(JSON.stringify({ rules: [rule(1, prodAge)], lifecyclePolicyText: inner }));
    expect(error.problems).toEqual([
      'beside lifecyclePolicyText (aws ecr get-lifecycle-policy output) only lifecyclePolicyText, registryId, repositoryName, lastEvaluatedAt may appear, not "rules"',
    ]);
  });

  const taggedCount = (i: number) => ({
    tagStatus: 'tagged',
    tagPrefixList: [`p${i}-`],
    countType: 'imageCountMoreThan',
    countNumber: 1,
  });

  it.each([
    ['51 rules', 51, "at most 50 rules (ECR's limit), this one 51"],
    ['200,000 rules', 200_000, "at most 50 rules (ECR's limit), this one 200000"],
  ])('rejects a policy of %s, as ECR does', (_, count, message) => {
    const rules = Array.from({ length: count }, (_, i) => rule(i + 1, taggedCount(i)));
    const error = rejectionOf(JSON.stringify({ rules }));
    expect(error).toBeInstanceOf(PolicyError);
    expect(error.message).toContain(message);
  });

  it('accepts 50 rules, and rejects a policy longer than 30,720 characters written compactly', () => {
    const rules = Array.from({ length: 50 }, (_, i) => rule(i + 1, taggedCount(i)));
    expect(parseLifecyclePolicy(policyText(...rules)).rules).toHaveLength(50);
    const long = rules.map((each) => ({ ...each, description: 'x'.repeat(600) }));
    expect(rejectionOf(policyText(...long)).message).toMatch(
      /at most 30720 characters \(ECR's limit\), this one \d+ even without spaces/,
    );
  });
});

describe('evaluateLifecyclePolicy on the AWS user guide examples', () => {
  it('filtering on image age: expires prod* images pushed more than 14 days ago', () => {
    // Prepare
    const text = policyText(rule(1, prodAge, { description: 'Expire images older than 14 days' }));
    const images = [
      image('A', ['prod-1'], 20),
      image('B', ['prod-2'], 10),
      image('C', ['dev-1'], 30),
      image('D', [], 30),
      image('E', ['preprod-1'], 30),
    ];

    // Act
    const expired = evaluateLifecyclePolicy(parseLifecyclePolicy(text), images, NOW);

    // Assess
    expect([...expired]).toEqual([
      [
        images[0]!.digest,
        'lifecycle rule 1 ("Expire images older than 14 days"): tagged prod*, pushed 20 days ago (more than 14 days)',
      ],
    ]);
  });

  it('filtering on image count: keeps only one untagged image and expires all others', () => {
    // Prepare
    const text = policyText(
      rule(1, untaggedCount, { description: 'Keep only one untagged image, expire all others' }),
    );
    const images = [image('A', [], 5), image('B', [], 3), image('C', [], 1), image('D', ['v1'], 10)];

    // Act
    const expired = evaluateLifecyclePolicy(parseLifecyclePolicy(text), images, NOW);

    // Assess
    expect(expiredNames(text, images)).toEqual(['A', 'B']);
    expect(expired.get(images[0]!.digest)).toBe(
      'lifecycle rule 1 ("Keep only one untagged image, expire all others"): beyond the newest untagged image',
    );
  });

  const tagFilters = [
    ['tagPatternList', ['prod*'], ['beta*']],
    ['tagPrefixList', ['prod'], ['beta']],
  ] as const;

  it.each(tagFilters)('multiple rules, example A (%s): only image A is expired', (list, prod, beta) => {
    // Prepare
    const text = policyText(
      rule(1, { tagStatus: 'tagged', [list]: prod, countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(2, { tagStatus: 'tagged', [list]: beta, countType: 'imageCountMoreThan', countNumber: 1 }),
    );

    // Act
    const expired = expiredNames(text, multipleRulesRepository);

    // Assess
    expect(expired).toEqual(['A']);
  });

  it.each(tagFilters)('multiple rules, example B (%s): images A and B are expired', (list, prod, beta) => {
    // Prepare
    const text = policyText(
      rule(1, { tagStatus: 'tagged', [list]: beta, countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(2, { tagStatus: 'tagged', [list]: prod, countType: 'imageCountMoreThan', countNumber: 1 }),
    );

    // Act
    const expired = expiredNames(text, multipleRulesRepository);

    // Assess
    expect(expired).toEqual(['A', 'B']);
  });

  const alphaBeta = [
    ['tagPatternList', ['alpha*', 'beta*']],
    ['tagPrefixList', ['alpha', 'beta']],
  ] as const;

  it.each(alphaBeta)(
    'multiple tags in a single rule, example A (%s): only image C is expired',
    (list, tags) => {
      // Prepare
      const text = policyText(
        rule(1, {
          tagStatus: 'tagged',
          [list]: tags,
          countType: 'sinceImagePushed',
          countNumber: 5,
          countUnit: 'days',
        }),
      );
      const images = [
        image('A', ['alpha-1'], 12),
        image('B', ['beta-1'], 11),
        image('C', ['alpha-2', 'beta-2'], 10),
        image('D', ['alpha-3'], 4),
        image('E', ['beta-3'], 3),
        image('F', ['alpha-4', 'beta-4'], 2),
      ];

      // Act
      const expired = expiredNames(text, images);

      // Assess
      expect(expired).toEqual(['C']);
    },
  );

  it.each(alphaBeta)(
    'multiple tags in a single rule, example B (%s): images A and B are expired',
    (list, tags) => {
      // Prepare
      const text = policyText(
        rule(1, { tagStatus: 'tagged', [list]: tags, countType: 'imageCountMoreThan', countNumber: 1 }),
      );
      const images = [
        image('A', ['alpha-1', 'beta-1', 'gamma-1'], 10),
        image('B', ['alpha-2', 'beta-2'], 9),
        image('C', ['alpha-3', 'beta-3', 'gamma-2'], 8),
      ];

      // Act
      const expired = expiredNames(text, images);

      // Assess
      expect(expired).toEqual(['A', 'B']);
    },
  );

  it('filtering on all images, example A: keeps the newest image, tagged or not, and expires A, B and C', () => {
    // Prepare
    const text = policyText(rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }));
    const images = [
      image('A', ['alpha-1'], 4),
      image('B', ['beta-1'], 3),
      image('C', [], 2),
      image('D', ['alpha-2'], 1),
    ];

    // Act
    const expired = expiredNames(text, images);

    // Assess
    expect(expired).toEqual(['A', 'B', 'C']);
  });

  it('filtering on all images, example B: the any rule counts every image but expires only D', () => {
    // Prepare: the guide pushes D and E "1 day ago" and keeps E as the newest, so E is the later push.
    const text = policyText(
      rule(1, {
        tagStatus: 'tagged',
        tagPatternList: ['alpha*'],
        countType: 'imageCountMoreThan',
        countNumber: 1,
      }),
      rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
      rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
    );
    const images = [
      image('A', ['alpha-1', 'beta-1'], 4),
      image('B', [], 3),
      image('C', ['alpha-2'], 2),
      image('D', ['git hash'], 1 + 1 / 24),
      image('E', [], 1),
    ];

    // Act
    const expired = evaluateLifecyclePolicy(parseLifecyclePolicy(text), images, NOW);

    // Assess
    expect(expiredNames(text, images)).toEqual(['A', 'B', 'D']);
    expect(expired.get(images[0]!.digest)).toMatch(/^lifecycle rule 1: /);
    expect(expired.get(images[1]!.digest)).toMatch(/^lifecycle rule 2: /);
    expect(expired.get(images[3]!.digest)).toBe('lifecycle rule 3: beyond the newest image');
  });
});

describe('evaluateLifecyclePolicy semantics', () => {
  it('writes the rule, its description, the count and the tag filter into each reason', () => {
    // Prepare
    const text = policyText(
      rule(1, prodCount, { description: 'keep 3 prod' }),
      rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }),
    );
    const images = [
      image('A', ['prod-4'], 1),
      image('B', ['prod-3'], 2),
      image('C', ['prod-2'], 3),
      image('D', ['prod-1'], 4),
      image('E', [], 15),
    ];

    // Act
    const expired = evaluateLifecyclePolicy(parseLifecyclePolicy(text), images, NOW);

    // Assess
    expect([...expired]).toEqual([
      [images[3]!.digest, 'lifecycle rule 1 ("keep 3 prod"): beyond the newest 3 images tagged prod*'],
      [images[4]!.digest, 'lifecycle rule 2: untagged, pushed 15 days ago (more than 14 days)'],
    ]);
  });

  it('lets a lower rule count images a higher rule selected, as if they had not been expired', () => {
    // Prepare
    const text = policyText(
      rule(1, {
        tagStatus: 'tagged',
        tagPatternList: ['latest'],
        countType: 'imageCountMoreThan',
        countNumber: 1,
      }),
      rule(2, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }),
    );
    const images = [
      image('A', ['latest'], 1),
      image('B', ['v3'], 2),
      image('C', ['v2'], 3),
      image('D', ['v1'], 4),
    ];

    // Act
    const expired = expiredNames(text, images);

    // Assess: rule 2 keeps A (selected by rule 1, still counted) and B only.
    expect(expired).toEqual(['C', 'D']);
  });

  it('never lets a lower rule expire an image whose tags a higher rule selected, even one it kept', () => {
    // Prepare
    const text = policyText(
      rule(1, { ...prodAge, countNumber: 30 }),
      rule(2, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }),
    );
    const images = [image('A', ['prod-1'], 10), image('B', ['dev-1'], 10)];

    // Act
    const expired = expiredNames(text, images);

    // Assess
    expect(expired).toEqual(['B']);
  });

  it('applies rules by ascending rulePriority whatever their order in the policy', () => {
    // Prepare
    const inOrder = policyText(
      rule(5, {
        tagStatus: 'tagged',
        tagPrefixList: ['beta'],
        countType: 'imageCountMoreThan',
        countNumber: 1,
      }),
      rule(9, {
        tagStatus: 'tagged',
        tagPrefixList: ['prod'],
        countType: 'imageCountMoreThan',
        countNumber: 1,
      }),
    );
    const reversed = JSON.stringify({ rules: [...JSON.parse(inOrder).rules].reverse() });

    // Act
    const expired = expiredNames(reversed, multipleRulesRepository);

    // Assess
    expect(expired).toEqual(expiredNames(inOrder, multipleRulesRepository));
    expect(expired).toEqual(['A', 'B']);
  });

  it.each<[string, string, boolean]>([
    ['prod*', 'prod', true],
    ['prod*', 'production-team1', true],
    ['prod*', 'preprod-1', false],
    ['prod*', 'Prod-1', false],
    ['*prod*', 'repo-production', true],
    ['*prod*', 'prod-team', true],
    ['v1.*', 'v1x2', false],
    ['v1.*', 'v1.2', true],
    ['*test*1*2*3', 'my-test-1-2-3', true],
    ['*test*1*2*3', 'my-test-1-2-3-4', false],
    ['latest', 'latest-2', false],
  ])(
    'pattern %s matching tag %s is %s (whole tag, case-sensitive, * for any run)',
    (pattern, tag, matches) => {
      // Prepare
      const text = policyText(
        rule(1, {
          tagStatus: 'tagged',
          tagPatternList: [pattern],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 1,
        }),
      );

      // Act
      const expired = expiredNames(text, [image('A', [tag], 2)]);

      // Assess
      expect(expired).toEqual(matches ? ['A'] : []);
    },
  );

  it('selects an image only when every listed prefix starts one of its tags', () => {
    // Prepare
    const text = policyText(
      rule(1, {
        tagStatus: 'tagged',
        tagPrefixList: ['release', 'v'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 1,
      }),
    );
    const images = [
      image('A', ['release-7', 'v7'], 3),
      image('B', ['release-8'], 3),
      image('C', ['v9', 'xrelease'], 3),
    ];

    // Act
    const expired = expiredNames(text, images);

    // Assess
    expect(expired).toEqual(['A']);
  });

  it('never lets a tagged rule select an untagged image, nor an untagged rule a tagged one', () => {
    // Prepare
    const text = policyText(
      rule(1, {
        tagStatus: 'tagged',
        tagPatternList: ['*'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 1,
      }),
      rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
    );
    const images = [image('A', [], 5), image('B', [], 4), image('C', ['x'], 0.5)];

    // Act
    const expired = expiredNames(text, images);

    // Assess: rule 1 finds no old tagged image; rule 2 keeps the newest untagged image B.
    expect(expired).toEqual(['A']);
  });

  it('expires by age only images pushed more than countNumber days before now', () => {
    // Prepare
    const text = policyText(
      rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }),
    );
    const exactly = image('A', [], 14);
    const justOver = { ...image('B', [], 14), pushedAt: new Date(NOW.getTime() - 14 * DAY_MS - 60_000) };

    // Act
    const expired = evaluateLifecyclePolicy(parseLifecyclePolicy(text), [exactly, justOver], NOW);

    // Assess
    expect([...expired.keys()]).toEqual([justOver.digest]);
    expect(expired.get(justOver.digest)).toBe(
      'lifecycle rule 1: untagged, pushed 14.1 days ago (more than 14 days)',
    );
  });

  it('breaks a tie in push time by digest: the smaller digest counts as newer', () => {
    // Prepare
    const text = policyText(rule(1, untaggedCount));
    const images = [image('B', [], 2), image('A', [], 2)];

    // Act
    const expired = expiredNames(text, images);

    // Assess
    expect(expired).toEqual(['B']);
  });

  it('gives the same answer, in the same order, whatever the order of the images', () => {
    // Prepare
    const policy = parseLifecyclePolicy(
      policyText(rule(1, { ...prodCount, countNumber: 1 }), rule(2, { ...allCount, countNumber: 2 })),
    );
    const images = [
      image('A', ['prod-1'], 6),
      image('B', [], 5),
      image('C', ['prod-2'], 4),
      image('D', ['x'], 3),
      image('E', [], 3),
      image('F', ['prod-3'], 1),
    ];

    // Act
    const forward = [...evaluateLifecyclePolicy(policy, images, NOW)];
    const backward = [...evaluateLifecyclePolicy(policy, [...images].reverse(), NOW)];

    // Assess
    expect(backward).toEqual(forward);
    expect(forward.map(([digest]) => images.find((i) => i.digest === digest)?.name)).toEqual([
      'C',
      'A',
      'E',
      'B',
    ]);
  });
});

describe('lifecycleOutcome', () => {
  it('names the images a rule selects and keeps, beside those it expires; an image no rule selects is in neither', () => {
    // Prepare: rule 1 keeps the newest 3 prod*, rule 2 expires untagged images older than 14 days.
    const policy = parseLifecyclePolicy(
      policyText(
        rule(1, prodCount, { description: 'keep 3 prod' }),
        rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }),
      ),
    );
    const images = [
      image('A', ['prod-4'], 1),
      image('B', ['prod-3'], 2),
      image('C', ['prod-2'], 3),
      image('D', ['prod-1'], 4),
      image('E', [], 15),
      image('F', [], 2),
      image('G', ['dev'], 40),
    ];

    // Act
    const { expired, kept, priority } = lifecycleOutcome(policy, images, NOW);

    // Assess
    const names = (digests: Iterable<string>) =>
      [...digests].map((digest) => images.find((i) => i.digest === digest)?.name).sort();
    expect(names(expired.keys())).toEqual(['D', 'E']);
    expect(names(kept.keys())).toEqual(['A', 'B', 'C', 'F']);
    expect(kept.get(images[0]!.digest)).toBe(
      'selected by lifecycle rule 1 ("keep 3 prod"), which does not expire it',
    );
    expect(kept.get(images[5]!.digest)).toBe('selected by lifecycle rule 2, which does not expire it');
    // The rule that selected each image first: the one that expires it, or the one that keeps it.
    expect(names(priority.keys())).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    expect([images[3]!, images[4]!, images[5]!].map((i) => priority.get(i.digest))).toEqual([1, 2, 2]);
  });
});
