import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EcrFake, startEcrFake } from '../fixtures/ecr-fake';
import { runCli, writeSightingsFile } from '../fixtures/run-cli';

const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const REGION = ['--region', 'us-east-1'];
const at = (iso: string) => new Date(`${iso}Z`);
const hexDigest = (prefix: string) => `sha256:${prefix}${'0'.repeat(64 - prefix.length)}`;

/** A sightings file holding an empty list of reports (written now: the bad-usage table names it). */
const EMPTY_REPORTS = join(mkdtempSync(join(tmpdir(), 'janitor-gc-empty-')), 'none.json');
writeFileSync(EMPTY_REPORTS, '[]');
/** A report whose clock ran a day fast. */
const FUTURE_REPORT = join(mkdtempSync(join(tmpdir(), 'janitor-gc-future-')), 'future.json');
writeFileSync(
  FUTURE_REPORT,
  JSON.stringify({
    cluster: 'prod-eu',
    observedAt: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    images: [],
  }),
);

let fake: EcrFake;
let dir: string;

beforeAll(async () => {
  fake = await startEcrFake();
  dir = mkdtempSync(join(tmpdir(), 'janitor-gc-'));
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

/** aws-ecr-gc's README repository: 47 manifests, two builds beyond the newest 8. */
function seedReadmeRepository(): void {
  const repository = 'testrepo';
  for (let i = 0; i < 29; i++) {
    fake.putImage({
      repository,
      tags: [`feature-${i}`],
      pushedAt: at(`2017-03-01T00:${String(i).padStart(2, '0')}:00`),
    });
  }
  for (let i = 0; i < 4; i++) {
    fake.putImage({ repository, tags: [`release-production-${i}`], pushedAt: at(`2017-03-1${i}T08:00:00`) });
  }
  fake.putImage({
    repository,
    digest: hexDigest('4fe1451fc'),
    tags: ['build-1d293f7'],
    pushedAt: at('2017-03-17T17:12:07'),
  });
  fake.putImage({
    repository,
    digest: hexDigest('2a1fce5b2'),
    tags: ['build-64cd372'],
    pushedAt: at('2017-03-20T03:51:41'),
  });
  for (let i = 0; i < 6; i++) {
    fake.putImage({ repository, tags: [`build-new${i}`], pushedAt: at(`2017-03-2${i + 1}T10:00:00`) });
  }
  fake.putMultiArch({ repository, seed: 'm1', tags: ['build-multi1'], pushedAt: at('2017-03-27T10:00:00') });
  fake.putMultiArch({
    repository,
    seed: 'm2',
    tags: ['build-multi2', 'latest'],
    pushedAt: at('2017-03-28T10:00:00'),
  });
}

const README_ARGS = [
  'gc',
  '--repo',
  'testrepo',
  '--delete-untagged=true',
  '--keep',
  'release-production=4',
  '--keep',
  'build=8',
];

describe('registry-janitor gc against an ECR-compatible endpoint', () => {
  it("prints aws-ecr-gc's README example exactly, and keeps multi-arch children aws-ecr-gc would delete", async () => {
    // Prepare
    seedReadmeRepository();

    // Act
    const result = await runCli([...README_ARGS, ...REGION], { endpoint: fake.url });

    // Assess
    expect(result.stdout).toBe(
      [
        'Total images in testrepo (us-east-1): 47',
        'Images to delete (2)',
        '  2017-03-20 03:51:41: sha256:2a1fce5b2... [build-64cd372]',
        '  2017-03-17 17:12:07: sha256:4fe1451fc... [build-1d293f7]',
        'Deleted (2)',
        '  sha256:2a1fce5b2... (build-64cd372)',
        '  sha256:4fe1451fc... (build-1d293f7)',
        'Failures (0)',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(0);
    expect(fake.images('testrepo')).toHaveLength(45);
    // Nothing else: under Node 20 the AWS SDK would add its Node-version warning to every run.
    expect(result.stderr).toBe('');
  });

  it('accepts the Go-style single-dash flags of aws-ecr-gc and AWS_DEFAULT_REGION (an empty AWS_REGION is unset)', async () => {
    seedReadmeRepository();
    const args = [
      'gc',
      '-repo',
      'testrepo',
      '-delete-untagged=true',
      '-keep',
      'release-production=4',
      '-keep',
      'build=8',
    ];
    const result = await runCli(args, {
      endpoint: fake.url,
      env: { AWS_REGION: '', AWS_DEFAULT_REGION: 'us-east-1' },
    });
    expect(result.stdout).toContain('Deleted (2)');
    expect(result.code).toBe(0);
  });

  it('keeps an image that a cluster runs, by digest or by tag, however old', async () => {
    // Prepare
    seedReadmeRepository();
    const sightings = writeSightingsFile('prod-eu', [
      { image: `${HOST}/testrepo:build-64cd372`, namespace: 'shop', workload: 'Deployment/web' },
      {
        image: `${HOST}/testrepo:old`,
        imageID: `docker-pullable://${HOST}/testrepo@${hexDigest('4fe1451fc')}`,
      },
    ]);

    // Act
    const result = await runCli([...README_ARGS, ...REGION, '--sightings', sightings, '--verbose'], {
      endpoint: fake.url,
    });

    // Assess
    expect(result.stdout).toContain('Images to delete (0)');
    expect(result.stdout).toMatch(
      /sha256:2a1fce5b2\.\.\. \[build-64cd372\] kept: tag 'build-64cd372' seen in prod-eu/,
    );
    expect(result.stdout).toMatch(/sha256:4fe1451fc\.\.\. \[build-1d293f7\] kept: seen in prod-eu/);
    expect(result.code).toBe(0);
    expect(fake.calls.BatchDeleteImage).toBe(0);
  });

  it('pages through 2,500 images and deletes 270 under 10% throttling', async () => {
    // Prepare
    fake.setFaults({ throttleRate: 0.1, seed: 7 });
    for (let i = 0; i < 2500; i++) {
      fake.putImage({
        repository: 'big',
        tags: [`build-${i}`],
        pushedAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
      });
    }

    // Act
    const result = await runCli(['gc', '--repo', 'big', '--keep', 'build=2230', ...REGION], {
      endpoint: fake.url,
    });

    // Assess
    expect(result.stdout).toContain('Total images in big (us-east-1): 2500');
    expect(result.stdout).toContain('Images to delete (270)');
    expect(result.stdout).toContain('Deleted (270)');
    expect(result.stdout).toContain('Failures (0)');
    expect(result.code).toBe(0);
    expect(fake.calls.throttled).toBeGreaterThan(0);
    const left = fake.images('big').map((image) => image.tags[0]);
    expect(left).toHaveLength(2230);
    expect(left).not.toContain('build-269');
    expect(left).toContain('build-270');
  });

  it('reports a failing delete, deletes the rest and exits 1', async () => {
    // Prepare
    seedReadmeRepository();
    fake.failDeletes({ [hexDigest('4fe1451fc')]: 'ImageTagDoesNotMatchDigest' });

    // Act
    const result = await runCli([...README_ARGS, ...REGION], { endpoint: fake.url });

    // Assess
    expect(result.stdout).toContain(
      'Deleted (1)\n  sha256:2a1fce5b2... (build-64cd372)\nFailures (1)\n  sha256:4fe1451fc... ImageTagDoesNotMatchDigest:',
    );
    // Each line of the section names the manifest's own tags.
    expect(result.stdout).toMatch(
      /\n {2}sha256:4fe1451fc\.\.\. ImageTagDoesNotMatchDigest: .+ \[build-1d293f7\]\n/,
    );
    expect(result.code).toBe(1);
  });

  it('keeps an image whose tags changed between the listing and the deletion, and the family that hangs from it', async () => {
    // Prepare: two untagged images and an untagged multi-arch index, all candidates; while gc
    // re-reads them before deleting, a promotion tags one image and the index.
    const repository = 'promo';
    const promoted = hexDigest('aaa1');
    const untouched = hexDigest('aaa2');
    fake.putImage({ repository, digest: promoted, pushedAt: at('2017-03-01T00:00:00') });
    fake.putImage({ repository, digest: untouched, pushedAt: at('2017-03-02T00:00:00') });
    const family = fake.putMultiArch({
      repository,
      seed: 'promo',
      tags: [],
      pushedAt: at('2017-03-03T00:00:00'),
    });
    fake.putImage({ repository, tags: ['build-1'], pushedAt: at('2017-03-04T00:00:00') });
    let reread = 0;
    fake.onRequest((operation, request) => {
      if (operation !== 'DescribeImages' || !('imageIds' in request) || reread++ > 0) return;
      fake.tagImage(repository, promoted, 'release-production');
      fake.tagImage(repository, family.index.digest, 'v2');
    });

    // Act
    const result = await runCli(['gc', '--repo', repository, '--delete-untagged=true', ...REGION], {
      endpoint: fake.url,
    });

    // Assess: only the image nobody touched is gone; each kept one says why.
    expect(result.stdout).toContain('Images to delete (5)');
    const short = (digest: string) => `${digest.slice(0, 16)}...`;
    expect(result.stdout).toContain(`Deleted (1)\n  ${short(untouched)} ()\nFailures (4)\n`);
    expect(result.stdout).toContain(
      `  ${short(promoted)} Skipped: tags changed since the listing: [] → [release-production] []\n`,
    );
    expect(result.stdout).toContain(
      `  ${short(family.index.digest)} Skipped: tags changed since the listing: [] → [v2] []\n`,
    );
    for (const child of family.children) {
      expect(result.stdout).toContain(
        `  ${short(child.digest)} Skipped: kept with its family: the tags of ${short(family.index.digest)} changed since the listing []\n`,
      );
    }
    expect(result.code).toBe(1);
    expect(
      fake
        .images(repository)
        .map((image) => image.digest)
        .sort(),
    ).toEqual(
      [
        promoted,
        family.index.digest,
        ...family.children.map((child) => child.digest),
        fake.images(repository).find((image) => image.tags.includes('build-1'))!.digest,
      ].sort(),
    );
    // One re-read (the 4 images of one repository), then one delete.
    expect(fake.calls.BatchDeleteImage).toBe(1);
    expect(reread).toBe(1);
  });

  it('takes an image deleted by someone else before the re-read as gone, and deletes the rest', async () => {
    // Prepare: two untagged candidates; the first is deleted elsewhere just before gc reads them
    // again, so ECR refuses the whole DescribeImages call and gc asks again in halves.
    const repository = 'raced';
    const first = hexDigest('bbb1');
    const second = hexDigest('bbb2');
    fake.putImage({ repository, digest: first, pushedAt: at('2017-03-01T00:00:00') });
    fake.putImage({ repository, digest: second, pushedAt: at('2017-03-02T00:00:00') });
    const rereads: number[] = [];
    fake.onRequest((operation, request) => {
      if (operation !== 'DescribeImages' || !Array.isArray(request.imageIds)) return;
      if (rereads.length === 0) fake.removeImage(repository, first);
      rereads.push(request.imageIds.length);
    });

    // Act
    const result = await runCli(['gc', '--repo', repository, '--delete-untagged=true', ...REGION], {
      endpoint: fake.url,
    });

    // Assess
    expect(rereads).toEqual([2, 1, 1]);
    expect(result.stdout).toContain('Deleted (2)\n');
    expect(result.stdout).toContain('Failures (0)\n');
    expect(fake.images(repository)).toEqual([]);
    expect(result.code).toBe(0);
  });

  it('deletes nothing with --dry-run', async () => {
    seedReadmeRepository();
    const result = await runCli([...README_ARGS, ...REGION, '--dry-run'], { endpoint: fake.url });
    expect(result.stdout).toContain('Images to delete (2)');
    expect(result.stdout).toContain('Dry run: nothing was deleted');
    expect(result.stdout).not.toContain('Deleted (');
    expect(result.code).toBe(0);
    expect(fake.calls.BatchDeleteImage).toBe(0);
    expect(fake.images('testrepo')).toHaveLength(47);
  });

  it('deletes an index before its children, so ECR never refuses a child', async () => {
    // Prepare
    fake.putMultiArch({
      repository: 'multi',
      seed: 'a',
      tags: ['build-1'],
      pushedAt: at('2026-01-01T00:00:00'),
      attestations: true,
    });
    fake.putMultiArch({
      repository: 'multi',
      seed: 'b',
      tags: ['build-2'],
      pushedAt: at('2026-01-02T00:00:00'),
    });

    // Act
    const result = await runCli(
      ['gc', '--repo', 'multi', '--keep', 'build=1', '--delete-untagged', ...REGION],
      { endpoint: fake.url },
    );

    // Assess
    expect(result.stdout).toContain('Images to delete (5)');
    expect(result.stdout).toContain('Deleted (5)');
    expect(result.code).toBe(0);
    expect(fake.images('multi')).toHaveLength(3);
    const deletes = fake.calls.log.filter((call) => call.operation === 'BatchDeleteImage');
    expect(deletes).toHaveLength(2);
  });

  it('deletes nothing in a repository whose listing fails part-way, and still cleans the others', async () => {
    // Prepare
    for (let i = 0; i < 1500; i++) {
      fake.putImage({
        repository: 'flaky',
        tags: [`build-${i}`],
        pushedAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
      });
    }
    fake.putImage({ repository: 'fine', tags: ['build-1'], pushedAt: at('2026-01-01T00:00:00') });
    fake.failDescribeImagesPage(2, 'flaky');

    // Act
    const result = await runCli(['gc', '--repo', 'flaky', '--repo', 'fine', '--keep', 'build=0', ...REGION], {
      endpoint: fake.url,
    });

    // Assess
    expect(result.stdout).toContain('Could not read flaky (us-east-1)');
    expect(result.stdout).toContain('Total images in fine (us-east-1): 1');
    expect(result.code).toBe(1);
    expect(fake.images('flaky')).toHaveLength(1500);
    expect(fake.images('fine')).toHaveLength(0);
  });

  it('prints the plan and outcomes as JSON with --json', async () => {
    seedReadmeRepository();
    const result = await runCli([...README_ARGS, ...REGION, '--json'], { endpoint: fake.url });
    const report = JSON.parse(result.stdout);
    expect(report.repositories[0].images).toHaveLength(47);
    expect(report.outcomes.map((outcome: { status: string }) => outcome.status)).toEqual([
      'deleted',
      'deleted',
    ]);
    expect(report.repositories[0].images[0].reason).toMatch(/^(kept|delete): /);
  });

  it.each([
    [['gc', '--repo', 'testrepo', '--keep', 'build'], '--keep expects PREFIX=N'],
    [['gc', '--repo', 'testrepo', '--delete-untagged=maybe'], '--delete-untagged expects true or false'],
    [['gc', '--repo', 'testrepo', '--unused-days', 'ten'], '--unused-days expects a whole number'],
    [['gc', '--keep', 'build=1'], '--repo NAME is required'],
    [['gc', '--repo', 'testrepo', '--sightings', '/nonexistent.json'], 'cannot read the sightings file'],
    [['gc', '--repo', 'testrepo', '--bogus'], "unknown option '--bogus'"],
    [['gc', '--repo', 'testrepo', '--sightings', EMPTY_REPORTS], 'holds no cluster report (an empty list)'],
    [['gc', '--repo', 'testrepo', '--sightings', FUTURE_REPORT], "1440 minutes after this machine's clock"],
    [['gc', '--repo', 'testrepo', '--protect-tag', 'build-[0-1'], "'build-[0-1' has an unclosed '['"],
    [
      ['gc', '--repo', 'testrepo', '--protect-tag', 'release-1,release-2'],
      "',' separates choices only inside braces",
    ],
    [['gc', '--repo', 'testrepo', '--keep', 'build*=1'], "keep prefix 'build*' can never start a tag"],
    [
      ['gc', '--repo', 'testrepo', '--min-age-days', '3', '--min-age-days', '0'],
      "given twice, as '3' and '0'",
    ],
    [
      ['gc', '--repo', 'testrepo', '--delete-untagged', '--delete-untagged=false'],
      "given twice, as 'true' and 'false'",
    ],
    [['gc', '--repo', 'Bad Name'], "--repo 'Bad Name' is not a repository name"],
    [['gc', '--repo', ''], "--repo '' is not a repository name"],
    [
      ['gc', '--repo', 'testrepo', '--region', 'bogus region!'],
      "--region 'bogus region!' is not an AWS region: Region not accepted",
    ],
  ])('exits 2 on bad usage %j, touching nothing', async (args, message) => {
    seedReadmeRepository();
    const region = args.includes('--region') ? [] : REGION;
    const result = await runCli([...args, ...region], { endpoint: fake.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(fake.calls.DescribeImages + fake.calls.BatchDeleteImage).toBe(0);
  });

  it("takes the profile's region when AWS_REGION is set but empty", async () => {
    seedReadmeRepository();
    const config = join(dir, 'aws-config');
    writeFileSync(config, '[default]\nregion = us-east-1\n');
    const result = await runCli([...README_ARGS, '--dry-run'], {
      endpoint: fake.url,
      env: { AWS_REGION: '', AWS_CONFIG_FILE: config },
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Total images in testrepo (us-east-1): 47');
    expect(result.code).toBe(0);
  });

  it('exits 2 with the usage on stderr when no command is given, and 0 when help is asked for', async () => {
    const bare = await runCli([]);
    const help = await runCli(['--help']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('Usage: registry-janitor');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: registry-janitor');
  });

  it('exits 2 on an invalid lifecycle policy or sightings file, naming the problem', async () => {
    // Prepare
    const policy = join(dir, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 },
            action: { type: 'expire' },
          },
        ],
      }),
    );
    const sightings = join(dir, 'bad.json');
    writeFileSync(sightings, JSON.stringify({ cluster: 'x', observedAt: 'yesterday', images: [] }));

    // Act
    const badPolicy = await runCli(['gc', '--repo', 'testrepo', '--lifecycle-policy', policy, ...REGION], {
      endpoint: fake.url,
    });
    const badSightings = await runCli(['gc', '--repo', 'testrepo', '--sightings', sightings, ...REGION], {
      endpoint: fake.url,
    });

    // Assess
    expect(badPolicy.code).toBe(2);
    expect(badPolicy.stderr).toMatch(/rule 1.*tagPrefixList|tagPatternList/);
    expect(badSightings.code).toBe(2);
    expect(badSightings.stderr).toContain('observedAt');
    expect(fake.calls.DescribeImages).toBe(0);
  });

  it('applies a lifecycle policy together with --keep', async () => {
    seedReadmeRepository();
    const policy = join(dir, 'features.json');
    writeFileSync(
      policy,
      JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: {
              tagStatus: 'tagged',
              tagPrefixList: ['feature-'],
              countType: 'imageCountMoreThan',
              countNumber: 25,
            },
            action: { type: 'expire' },
          },
        ],
      }),
    );
    const result = await runCli([...README_ARGS, ...REGION, '--lifecycle-policy', policy, '--dry-run'], {
      endpoint: fake.url,
    });
    expect(result.stdout).toContain('Images to delete (6)');
    expect(result.code).toBe(0);
  });
});

describe('gc --sightings from the reporter', () => {
  beforeEach(() => fake.reset());

  it('accepts the array of bodies that report --dry-run prints', async () => {
    seedReadmeRepository();
    const file = join(dir, 'dry-run.json');
    const body = (image: string) => ({
      cluster: 'prod-eu',
      observedAt: new Date().toISOString(),
      images: [{ image }],
    });
    writeFileSync(
      file,
      JSON.stringify([body(`${HOST}/testrepo:build-64cd372`), body(`${HOST}/testrepo:build-1d293f7`)]),
    );
    const result = await runCli([...README_ARGS, ...REGION, '--sightings', file, '--dry-run'], {
      endpoint: fake.url,
    });
    expect(result.stdout).toContain('Images to delete (0)');
    expect(result.code).toBe(0);
  });

  it("takes a cluster's newest report as its last, even one that lists no image", async () => {
    // Prepare: prod-eu saw build-64cd372 ten hours ago (past the 6 h stale limit), and has
    // reported since, with nothing running in this registry.
    seedReadmeRepository();
    const report = (hoursAgo: number, images: object[]) => {
      const file = join(dir, `prod-eu-${hoursAgo}.json`);
      const observedAt = new Date(Date.now() - hoursAgo * 3_600_000).toISOString();
      writeFileSync(file, JSON.stringify({ cluster: 'prod-eu', observedAt, images }));
      return file;
    };
    const old = report(10, [{ image: `${HOST}/testrepo:build-64cd372` }]);
    const fresh = report(0, []);

    // Act
    const alone = await runCli([...README_ARGS, ...REGION, '--sightings', old, '--dry-run'], {
      endpoint: fake.url,
    });
    const both = await runCli(
      [...README_ARGS, ...REGION, '--sightings', old, '--sightings', fresh, '--dry-run'],
      {
        endpoint: fake.url,
      },
    );

    // Assess: alone, the old report blocks; with the newer empty one, the cluster is alive.
    expect(alone.stdout).toContain('Deletions blocked: no recent report from prod-eu');
    expect(alone.stdout).toContain('Images to delete (0)');
    expect(both.stdout).not.toContain('Deletions blocked');
    expect(both.stdout).toMatch(/Images to delete \([1-9]\d*\)/);
    expect(both.code).toBe(0);
  });

  it('takes a report of several bodies for a report only with every part, whichever files hold them', async () => {
    // Prepare: a fresh report of two bodies; the second names build-64cd372.
    seedReadmeRepository();
    const observedAt = new Date().toISOString();
    const part = (n: number, images: object[]) => {
      const file = join(dir, `prod-eu-part-${n}.json`);
      writeFileSync(
        file,
        JSON.stringify({ cluster: 'prod-eu', observedAt, images, round: { part: n, parts: 2 } }),
      );
      return file;
    };
    const first = part(1, [{ image: `${HOST}/testrepo:build-1d293f7` }]);
    const second = part(2, [{ image: `${HOST}/testrepo:build-64cd372` }]);

    // Act
    const alone = await runCli([...README_ARGS, ...REGION, '--sightings', first, '--dry-run'], {
      endpoint: fake.url,
    });
    const both = await runCli(
      [...README_ARGS, ...REGION, '--sightings', first, '--sightings', second, '--dry-run'],
      { endpoint: fake.url },
    );

    // Assess: a part alone may leave out what the cluster runs (here build-64cd372): it blocks.
    expect(alone.stdout).toContain(
      'Deletions blocked: no recent report from prod-eu (no whole report yet, an unfinished one just now)',
    );
    expect(alone.stdout).toContain('Images to delete (0)');
    expect(both.stdout).not.toContain('Deletions blocked');
    expect(both.code).toBe(0);
    const json = await runCli([...README_ARGS, ...REGION, '--sightings', first, '--dry-run', '--json'], {
      endpoint: fake.url,
    });
    expect(JSON.parse(json.stdout).repositories[0].blockedBy).toEqual([
      { cluster: 'prod-eu', lastReportAt: observedAt, incomplete: true },
    ]);
  });
});
