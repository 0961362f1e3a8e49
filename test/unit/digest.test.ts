import { MAX_SUBJECT_CHARS, renderDigest, utf8Length } from '../../lambdas/core/digest';
import type { PlanItem } from '../../lambdas/core/plan';
import type { RepositorySummary } from '../../lambdas/core/plan-summary';
import {
  cutText,
  MAX_ERROR_TEXT,
  reasonCategory,
  summarizeRepository,
} from '../../lambdas/core/plan-summary';
import { digestOf } from '../fixtures/builders';

const NOW = new Date('2026-11-22T18:00:00Z');
const GIB = 1024 ** 3;
const URL = 'https://api.example.com/v1/plans/p1?exp=1764439200&sig=abc';

function repo(
  name: string,
  candidates: number,
  bytes: number,
  extra: Partial<RepositorySummary> = {},
): RepositorySummary {
  return {
    repository: name,
    totalImages: candidates * 3,
    candidates,
    candidateBytes: bytes,
    topReasons:
      candidates === 0 ? [] : [{ reason: 'delete: build* beyond the newest 20', count: candidates }],
    blockedBy: [],
    ...extra,
  };
}

const input = (repositories: RepositorySummary[]) => ({
  planId: 'p1',
  createdAt: new Date('2026-11-22T06:00:00Z'),
  repositories,
  reviewUrl: URL,
  linkExpiresAt: new Date('2026-11-29T06:00:00Z'),
  now: NOW,
});

describe('renderDigest', () => {
  it('renders a small plan as readable text', () => {
    // Prepare
    const repositories = [
      repo('web', 12, 3 * GIB),
      repo('api', 0, 0, {
        blockedBy: [{ cluster: 'edge-1', lastReportAt: new Date('2026-11-22T01:00:00Z') }],
      }),
      repo('jobs', 30, 9 * GIB, {
        topReasons: [
          { reason: 'delete: untagged', count: 20 },
          { reason: 'delete: build* beyond the newest 20', count: 10 },
        ],
      }),
      repo('legacy', 0, 0, { error: 'access denied: the credentials lack ecr:DescribeImages on legacy' }),
    ];

    // Act
    const digest = renderDigest(input(repositories));

    // Assess
    expect(digest.subject).toBe('registry-janitor: 42 images, 12.0 GiB to review, 2 repositories to check');
    expect(digest.text).toBe(
      [
        'registry-janitor scan of 2026-11-22 06:00:00 UTC (plan p1)',
        '',
        '42 images (12.0 GiB) can be deleted: up to $1.20 a month of ECR storage.',
        `Review and approve: ${URL}`,
        'The link expires 2026-11-29 06:00:00 UTC. Nothing is deleted until someone approves.',
        '',
        'By repository',
        '  jobs: 30 images, 9.0 GiB of 90',
        '      20 × delete: untagged',
        '      10 × delete: build* beyond the newest 20',
        '  web: 12 images, 3.0 GiB of 36',
        '      12 × delete: build* beyond the newest 20',
        '',
        'Blocked: no deletion proposed while a cluster is silent',
        '  api: cluster edge-1 last reported 2026-11-22 01:00:00 UTC (17 hours ago).',
        '  Check the reporter in that cluster (kubectl -n registry-janitor get cronjobs,jobs; its logs), its key and the endpoint.',
        '',
        'Could not be scanned (nothing in them is proposed)',
        '  legacy: access denied: the credentials lack ecr:DescribeImages on legacy',
        '',
        `Review and approve: ${URL}`,
        '',
      ].join('\n'),
    );
    expect(digest.allClean).toBe(false);
  });

  it('says when a cluster that blocks has sent only parts of reports', () => {
    const digest = renderDigest(
      input([
        repo('api', 0, 0, {
          blockedBy: [
            { cluster: 'edge-2', lastReportAt: new Date('2026-11-22T05:00:00Z'), incomplete: true },
          ],
        }),
      ]),
    );
    expect(digest.text).toContain(
      '  api: cluster edge-2 sent no whole report yet, only an unfinished one (2026-11-22 05:00:00 UTC, 13 hours ago).',
    );
  });

  it('says when a blocking cluster sent parts of newer reports: bodies are lost, it is not silent', () => {
    const digest = renderDigest(
      input([
        repo('api', 0, 0, {
          blockedBy: [
            {
              cluster: 'edge-3',
              lastReportAt: new Date('2026-11-22T01:00:00Z'),
              lastPartAt: new Date('2026-11-22T17:00:00Z'),
            },
          ],
        }),
      ]),
    );
    expect(digest.text).toContain(
      '  api: cluster edge-3 last reported 2026-11-22 01:00:00 UTC (17 hours ago); a part of a newer report arrived 1 hour ago, the rest did not: some of its bodies are lost.',
    );
  });

  it('says all clean when nothing is to delete, blocked or failed', () => {
    const digest = renderDigest(input([repo('web', 0, 0)]));
    expect(digest.allClean).toBe(true);
    expect(digest.subject).toBe('registry-janitor: nothing to delete');
  });

  it('escapes hostile repository names and reasons in HTML and links the review URL', () => {
    const digest = renderDigest(
      input([
        repo('<script>alert(1)</script>', 1, 10, {
          topReasons: [{ reason: `delete: tag '"><img src=x>'`, count: 1 }],
        }),
      ]),
    );
    expect(digest.html).not.toContain('<script>');
    expect(digest.html).not.toContain('<img');
    expect(digest.html).toContain('&#60;script&#62;');
    expect(digest.html).toContain(`<a href="${URL.replace(/&/g, '&#38;')}">`);
  });

  it('summarises a long digest instead of cutting it, keeping the link at both ends', () => {
    // Prepare
    const repositories = Array.from({ length: 5000 }, (_, i) =>
      repo(`team-${i}/service-with-a-long-name`, 10, (5000 - i) * 1e6),
    );

    // Act
    const digest = renderDigest(input(repositories));

    // Assess
    expect(utf8Length(digest.text)).toBeLessThanOrEqual(240 * 1024);
    expect(digest.text).toMatch(
      / {2}… and \d+ more repositories with \d+ images \([\d.]+ [KMGT]iB\): see the review page\n/,
    );
    expect(digest.text.startsWith('registry-janitor scan')).toBe(true);
    expect(digest.text.trimEnd().endsWith(`Review and approve: ${URL}`)).toBe(true);
    expect(digest.text.split(URL)).toHaveLength(3);
  });

  it('stays within SNS limits when thousands of repositories are blocked or could not be scanned', () => {
    // Prepare: 1,500 unscanned repositories with long errors, 1,500 blocked by a silent cluster.
    const error = `images used by ECS or Lambda could not be read: ${'ThrottlingException: Rate exceeded '.repeat(20)}`;
    const stale = { cluster: 'prod-eu', lastReportAt: new Date('2026-11-20T06:00:00Z') };
    const repositories = [
      ...Array.from({ length: 1500 }, (_, i) => repo(`failed-${i}`, 0, 0, { error })),
      ...Array.from({ length: 1500 }, (_, i) => repo(`blocked-${i}`, 0, 0, { blockedBy: [stale] })),
    ];

    // Act
    const digest = renderDigest(input(repositories));

    // Assess
    expect(utf8Length(digest.text)).toBeLessThanOrEqual(240 * 1024);
    expect(digest.text).toContain('  failed-0: images used by ECS or Lambda could not be read');
    expect(digest.text.match(/ {2}… and 1,450 more: see the review page\n/g)).toHaveLength(2);
    expect(digest.text.trimEnd().endsWith(`Review and approve: ${URL}`)).toBe(true);
  });

  it("counts a repository's candidates beyond its three most common reasons, so that its lines add up", () => {
    // Prepare: 14 candidates, the last 2 for a fourth reason the summary leaves out.
    const jobs = repo('jobs', 14, GIB, {
      topReasons: [
        { reason: 'delete: untagged', count: 5 },
        { reason: 'delete: tagged, not seen for 7 days', count: 4 },
        { reason: 'delete: build beyond the newest 8', count: 3 },
      ],
    });

    // Act
    const digest = renderDigest(input([jobs]));

    // Assess
    expect(digest.text).toContain(
      [
        '  jobs: 14 images, 1.0 GiB of 42',
        '      5 × delete: untagged',
        '      4 × delete: tagged, not seen for 7 days',
        '      3 × delete: build beyond the newest 8',
        '      2 × other reasons: see the review page',
        '',
      ].join('\n'),
    );
  });

  it('never cuts an error inside a character that takes two UTF-16 units (SNS refuses half of one)', () => {
    // Prepare: an emoji straddles the 300-unit cut.
    const error = `x${'😀'.repeat(200)}`;

    // Act
    const digest = renderDigest(input([repo('legacy', 0, 0, { error })]));

    // Assess
    const line = digest.text.split('\n').find((text) => text.startsWith('  legacy: '))!;
    expect(line.endsWith('…')).toBe(true);
    expect(line).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(() => encodeURIComponent(digest.text)).not.toThrow();
  });

  it('keeps the subject within SNS limits', () => {
    const digest = renderDigest(input([repo('web', 123_456_789, 2 ** 60, { error: 'x' })]));
    expect(digest.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
  });
});

describe('reasonCategory', () => {
  it.each([
    ['delete: untagged, never seen', 'delete: untagged'],
    [
      'delete: build* beyond the newest 8, last seen in prod 12 days ago',
      'delete: build* beyond the newest 8',
    ],
    [
      'delete: tagged, not seen for 7 days, last seen in prod 9 days ago, last pulled 8 days ago',
      'delete: tagged, not seen for 7 days',
    ],
    [
      'delete: part of sha256:abcdef012... [v1], deleted with it',
      'delete: platform image of a deleted index',
    ],
    [
      'delete: referrer of sha256:abcdef012... [v1], deleted with it',
      'delete: signature or attestation of a deleted image',
    ],
  ])('groups %j as %j', (reason, category) => {
    expect(reasonCategory(reason)).toBe(category);
  });
});

describe('summarizeRepository', () => {
  it("cuts a repository's error to what a plan keeps", () => {
    const summary = summarizeRepository({
      repository: 'web',
      totalImages: 0,
      items: [],
      blockedBy: [],
      error: `403 DENIED: ${'x'.repeat(450_000)}`,
    });
    expect(summary.error).toHaveLength(MAX_ERROR_TEXT + '… (cut)'.length);
    expect(summary.error).toMatch(/^403 DENIED: x+… \(cut\)$/);
  });
});

describe('candidate bytes', () => {
  it("count a multi-arch image's platform images, not also its index (ECR lists an index at its largest child's size)", () => {
    const child = (name: string): PlanItem => ({
      repository: 'web',
      digest: digestOf(name),
      tags: [],
      pushedAt: new Date('2026-11-01T00:00:00Z'),
      sizeBytes: 100_000_000,
      role: 'child',
      root: digestOf('index'),
      references: [],
      decision: 'delete',
      reason: 'delete: part of …',
    });
    const index: PlanItem = {
      ...child('index'),
      tags: ['v1'],
      mediaType: 'application/vnd.oci.image.index.v1+json',
      role: 'root',
      references: [digestOf('amd64'), digestOf('arm64')],
      reason: 'delete: untagged, never seen',
    };
    const summary = summarizeRepository({
      repository: 'web',
      totalImages: 3,
      items: [index, child('amd64'), child('arm64')],
      blockedBy: [],
    });
    expect(summary).toMatchObject({ candidates: 3, candidateBytes: 200_000_000 });
  });
});

describe('cutText', () => {
  it('never splits a surrogate pair (a lone surrogate is not valid UTF-8)', () => {
    expect(cutText('ab😀cd', 3)).toBe('ab');
    expect(cutText('ab😀cd', 4)).toBe('ab😀');
    expect(cutText('abcd', 3)).toBe('abc');
  });
});
