import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DistributionRegistry,
  describeWithDistribution,
  freePort,
  startDistributionRegistry,
} from '../fixtures/distribution-registry';
import { OciPusher, type Pushed } from '../fixtures/oci-push';
import { runCli, writeSightingsFile } from '../fixtures/run-cli';
import { startTokenServer, type TokenServer } from '../fixtures/token-server';

const USER = { username: 'ci-bot', password: 's3cr3t-pw' };
const day = (n: number) => `2026-01-${String(n).padStart(2, '0')}T00:00:00Z`;

/** A DOCKER_CONFIG directory with `auths` (empty by default: no credentials leak in from HOME). */
function dockerConfigDir(auths: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'janitor-gc-oci-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths }));
  return dir;
}

const digests = (pushed: readonly Pushed[]) => pushed.map((manifest) => manifest.digest);

describeWithDistribution('registry-janitor gc --registry against a real Distribution registry', () => {
  let registry: DistributionRegistry;
  let push: OciPusher;
  let env: NodeJS.ProcessEnv;
  let repo: string;
  let counter = 0;

  beforeAll(async () => {
    registry = await startDistributionRegistry();
    push = new OciPusher(registry.url);
    env = { DOCKER_CONFIG: dockerConfigDir() };
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    counter += 1;
    repo = `case${counter}/web`;
  });

  const gc = (...args: string[]) => runCli(['gc', '--registry', registry.url, ...args], { env });

  /** build-1 … build-n, one a day, oldest first. */
  async function builds(n: number, repository = repo): Promise<Pushed[]> {
    const pushed: Pushed[] = [];
    for (let i = 1; i <= n; i++) {
      pushed.push(
        await push.image(repository, { seed: `${repository}-${i}`, tags: [`build-${i}`], created: day(i) }),
      );
    }
    return pushed;
  }

  it('keeps the newest N by config created time and deletes the rest, printing aws-ecr-gc lines', async () => {
    // Prepare
    const pushed = await builds(5);

    // Act
    const result = await gc('--repo', repo, '--keep', 'build=2');

    // Assess
    expect(result.stdout).toContain(`Total images in ${repo} (${registry.host}): 5`);
    expect(result.stdout).toContain('Images to delete (3)\n  2026-01-03 00:00:00: sha256:');
    expect(result.stdout).toContain('Deleted (3)');
    expect(result.stdout).toContain('Failures (0)');
    expect(result.code).toBe(0);
    expect(await push.surviving(repo, pushed)).toEqual(digests(pushed.slice(3)));
    expect(await push.tags(repo)).toEqual(['build-4', 'build-5']);
  });

  it('deletes a family whole: index, platform children, attestations, cosign signature, referrer and its fallback tag', async () => {
    // Prepare
    const old = await push.multiArch(repo, {
      seed: `${repo}-old`,
      tags: ['build-1'],
      created: day(1),
      attestations: true,
    });
    const signature = await push.cosignSignature(repo, old.index);
    const { referrer, fallbackIndex } = await push.referrer(repo, old.index);
    const kept = await push.multiArch(repo, {
      seed: `${repo}-new`,
      tags: ['build-2'],
      created: day(2),
      attestations: true,
    });
    const keptSignature = await push.cosignSignature(repo, kept.index);
    const oldFamily = [old.index, ...old.children, ...old.attestations, signature, referrer, fallbackIndex];
    const keptFamily = [kept.index, ...kept.children, ...kept.attestations, keptSignature];

    // Act
    const result = await gc('--repo', repo, '--keep', 'build=1');

    // Assess
    expect(result.stdout).toContain(`Total images in ${repo} (${registry.host}): 14`);
    expect(result.stdout).toContain('Deleted (8)');
    expect(result.code).toBe(0);
    expect(await push.surviving(repo, oldFamily)).toEqual([]);
    expect(await push.surviving(repo, keptFamily)).toEqual(digests(keptFamily));
  });

  it('with --delete-untagged keeps the children of a kept index and cannot see an untagged manifest nothing points to', async () => {
    // Prepare
    const multi = await push.multiArch(repo, { seed: `${repo}-m`, tags: ['latest'], created: day(1) });
    const loose = await push.image(repo, { seed: `${repo}-loose`, created: day(1) });

    // Act
    const result = await gc('--repo', repo, '--delete-untagged');

    // Assess
    expect(result.stdout).toContain(`Total images in ${repo} (${registry.host}): 3`);
    expect(result.stdout).toContain('Images to delete (0)');
    expect(result.code).toBe(0);
    expect(await push.surviving(repo, [multi.index, ...multi.children, loose])).toHaveLength(4);
  });

  it('with --delete-untagged and --keep deletes the old index with its untagged children', async () => {
    const old = await push.multiArch(repo, { seed: `${repo}-1`, tags: ['build-1'], created: day(1) });
    const kept = await push.multiArch(repo, { seed: `${repo}-2`, tags: ['build-2'], created: day(2) });

    const result = await gc('--repo', repo, '--keep', 'build=1', '--delete-untagged=true');

    expect(result.stdout).toContain('Deleted (3)');
    expect(result.code).toBe(0);
    expect(await push.surviving(repo, [old.index, ...old.children])).toEqual([]);
    expect(await push.surviving(repo, [kept.index, ...kept.children])).toHaveLength(3);
  });

  it('keeps a family a cluster runs, by the digest of a platform child or by tag under host:port', async () => {
    // Prepare
    const byDigest = await push.multiArch(repo, { seed: `${repo}-a`, tags: ['build-1'], created: day(1) });
    const byTag = await push.image(repo, { seed: `${repo}-b`, tags: ['build-2'], created: day(2) });
    const unused = await push.image(repo, { seed: `${repo}-c`, tags: ['build-3'], created: day(3) });
    await builds(0);
    const sightings = writeSightingsFile('prod-eu', [
      {
        image: `${registry.host}/${repo}:old-tag`,
        imageID: `docker-pullable://${registry.host}/${repo}@${byDigest.children[1]!.digest}`,
      },
      { image: `${registry.host}/${repo}:build-2`, namespace: 'shop', workload: 'Deployment/web' },
    ]);

    // Act
    const result = await gc('--repo', repo, '--keep', 'build=0', '--sightings', sightings, '--verbose');

    // Assess
    expect(result.stdout).toMatch(/\[build-1\] kept: seen in prod-eu .*\(child sha256:/);
    expect(result.stdout).toMatch(/\[build-2\] kept: tag 'build-2' seen in prod-eu/);
    expect(result.stdout).toContain('Deleted (1)');
    expect(result.code).toBe(0);
    expect(await push.surviving(repo, [byDigest.index, ...byDigest.children, byTag])).toHaveLength(4);
    expect(await push.has(repo, unused.digest)).toBe(false);
  });

  it('reads a running untagged index by its digest: the platform image it shares stays, the rest of an old build goes', async () => {
    // Prepare: build-1's index shares its amd64 image with an untagged index deployed by digest.
    const created = day(1);
    const old = await push.multiArch(repo, { seed: `${repo}-s`, tags: ['build-1'], created });
    const running = await push.multiArch(repo, {
      seed: `${repo}-s`,
      created,
      platforms: ['linux/amd64', 'linux/riscv64'],
    });
    const sightings = writeSightingsFile('prod-eu', [
      { image: `${registry.host}/${repo}@${running.index.digest}`, workload: 'Deployment/api' },
    ]);

    // Act
    const result = await gc('--repo', repo, '--keep', 'build=0', '--sightings', sightings, '--verbose');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Deleted (2)');
    const [shared, arm64] = old.children;
    expect(running.children[0]!.digest).toBe(shared!.digest);
    expect(await push.surviving(repo, [old.index, arm64!])).toEqual([]);
    expect(await push.surviving(repo, [running.index, ...running.children])).toHaveLength(3);
    expect(result.stdout).toContain(`kept: seen in prod-eu just now (Deployment/api)`);
    expect(result.stdout).toMatch(
      new RegExp(
        `${shared!.digest.slice(0, 16)}\\.\\.\\. \\[\\] kept: part of ${running.index.digest.slice(0, 16)}`,
      ),
    );
  });

  it('deletes nothing with --dry-run', async () => {
    const pushed = await builds(3);

    const result = await gc('--repo', repo, '--keep', 'build=1', '--dry-run');

    expect(result.stdout).toContain('Images to delete (2)');
    expect(result.stdout).toContain('Dry run: nothing was deleted');
    expect(result.code).toBe(0);
    expect(await push.surviving(repo, pushed)).toEqual(digests(pushed));
  });

  it('cleans every repository of the catalog when --repo is left out', async () => {
    // Prepare: a registry of its own, so that the catalog holds these two repositories only
    const own = await startDistributionRegistry();
    try {
      const ownPush = new OciPusher(own.url);
      const web: Pushed[] = [];
      const api: Pushed[] = [];
      for (const i of [1, 2, 3]) {
        web.push(await ownPush.image('shop/web', { seed: `w${i}`, tags: [`build-${i}`], created: day(i) }));
        api.push(await ownPush.image('shop/api', { seed: `a${i}`, tags: [`build-${i}`], created: day(i) }));
      }

      // Act
      const result = await runCli(['gc', '--registry', own.url, '--keep', 'build=1'], { env });

      // Assess
      expect(result.stdout).toContain(`Total images in shop/api (${own.host}): 3`);
      expect(result.stdout).toContain(`Total images in shop/web (${own.host}): 3`);
      expect(result.code).toBe(0);
      expect(await ownPush.surviving('shop/web', web)).toEqual([web[2]!.digest]);
      expect(await ownPush.surviving('shop/api', api)).toEqual([api[2]!.digest]);
    } finally {
      await own.stop();
    }
  });

  it('deletes nothing in a repository with a manifest that cannot be read, and still cleans the others', async () => {
    // Prepare: corrupt one manifest in the registry's storage, so that its bytes no longer match its digest
    const broken = await builds(3);
    const fine = await builds(3, `${repo}-fine`);
    const hex = broken[0]!.digest.slice('sha256:'.length);
    const blob = join(
      registry.rootDirectory,
      'data',
      'docker',
      'registry',
      'v2',
      'blobs',
      'sha256',
      hex.slice(0, 2),
      hex,
      'data',
    );
    writeFileSync(
      blob,
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' }),
    );

    // Act
    const result = await gc('--repo', repo, '--repo', `${repo}-fine`, '--keep', 'build=1');

    // Assess
    expect(result.stdout).toMatch(
      new RegExp(`Could not read ${repo} \\(${registry.host}\\): .*do not match`),
    );
    expect(result.stdout).toContain(`Total images in ${repo}-fine (${registry.host}): 3`);
    expect(result.code).toBe(1);
    expect(await push.surviving(repo, broken.slice(1))).toHaveLength(2);
    expect(await push.surviving(`${repo}-fine`, fine)).toEqual([fine[2]!.digest]);
  });

  it('exits 1 when the registry refuses connections', async () => {
    const port = await freePort();

    const result = await runCli(['gc', '--registry', `http://127.0.0.1:${port}`, '--keep', 'build=1'], {
      env,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach 127.0.0.1:${port}: ECONNREFUSED`);
  });

  it.each([
    ['--region', 'us-east-1'],
    ['--lifecycle-policy', 'policy.json'],
  ])('exits 2 on the ECR-only flag %s, touching nothing', async (flag, value) => {
    // Prepare
    const pushed = await builds(2);
    const dir = dockerConfigDir();
    const policy = {
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'expire' },
        },
      ],
    };
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));

    // Act
    const result = await gc(
      '--repo',
      repo,
      '--keep',
      'build=0',
      flag,
      flag === '--region' ? value : join(dir, value),
    );

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${flag} is for ECR only`);
    expect(await push.surviving(repo, pushed)).toHaveLength(2);
  });

  it.each([
    ['ftp://127.0.0.1:1', 'http:// or https://'],
    ['https://registry.example.com/some/path', 'without a path'],
  ])('exits 2 on the registry URL %s', async (url, message) => {
    const result = await runCli(['gc', '--registry', url, '--repo', 'web'], { env });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describeWithDistribution('registry-janitor gc --registry with credentials', () => {
  let registry: DistributionRegistry;
  let push: OciPusher;

  beforeAll(async () => {
    registry = await startDistributionRegistry({ htpasswd: USER });
    push = new OciPusher(registry.url, USER);
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('logs in with basic auth from config.json and deletes', async () => {
    // Prepare
    const pushed: Pushed[] = [];
    for (const i of [1, 2]) {
      pushed.push(await push.image('private/web', { seed: `p${i}`, tags: [`build-${i}`], created: day(i) }));
    }
    const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
    const env = { DOCKER_CONFIG: dockerConfigDir({ [registry.host]: { auth } }) };

    // Act
    const result = await runCli(['gc', '--registry', registry.url, '--keep', 'build=1'], { env });

    // Assess
    expect(result.stdout).toContain('Deleted (1)');
    expect(result.code).toBe(0);
    expect(await push.surviving('private/web', pushed)).toEqual([pushed[1]!.digest]);
  });

  it('exits 1 and deletes nothing when the credentials are refused, without printing them', async () => {
    const pushed = [await push.image('private/api', { seed: 'x1', tags: ['build-1'], created: day(1) })];
    const env = {
      REGISTRY_USERNAME: USER.username,
      REGISTRY_PASSWORD: 'wrong-password',
      DOCKER_CONFIG: dockerConfigDir(),
    };

    const result = await runCli(
      ['gc', '--registry', registry.url, '--repo', 'private/api', '--keep', 'build=0'],
      { env },
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Could not read private/api');
    expect(`${result.stdout}${result.stderr}`).toContain(
      'refused the credentials from REGISTRY_USERNAME/REGISTRY_PASSWORD',
    );
    expect(`${result.stdout}${result.stderr}`).not.toContain('wrong-password');
    expect(await push.surviving('private/api', pushed)).toHaveLength(1);
  });
});

describeWithDistribution('registry-janitor gc --registry on a registry that forbids _catalog', () => {
  let tokens: TokenServer;
  let registry: DistributionRegistry;

  beforeAll(async () => {
    tokens = await startTokenServer(USER, { withhold: ['registry:catalog:*'] });
    registry = await startDistributionRegistry({ token: tokens.registryConfig });
    const push = new OciPusher(registry.url, { bearer: tokens.mint(['repository:web:pull,push']) });
    for (const i of [1, 2]) await push.image('web', { seed: `c${i}`, tags: [`build-${i}`], created: day(i) });
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
  });

  const env = () => ({
    REGISTRY_USERNAME: USER.username,
    REGISTRY_PASSWORD: USER.password,
    DOCKER_CONFIG: dockerConfigDir(),
  });

  it('exits 1 without --repo, saying to name the repositories', async () => {
    const result = await runCli(['gc', '--registry', registry.url, '--keep', 'build=1'], { env: env() });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /does not let registry-janitor list its repositories .*name them with --repo/,
    );
  });

  it('cleans a named repository with bearer tokens', async () => {
    const result = await runCli(['gc', '--registry', registry.url, '--repo', 'web', '--keep', 'build=1'], {
      env: env(),
    });

    expect(result.stdout).toContain('Deleted (1)');
    expect(result.code).toBe(0);
  });
});
