import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupCredentials } from '../../lambdas/adapters/oci-credentials';
import { OciRegistry } from '../../lambdas/adapters/oci-registry';
import type { RegistryImage } from '../../lambdas/core/model';
import type { Registry } from '../../lambdas/core/ports';
import { runGc } from '../../lambdas/handlers/gc';
import { policyFromFlags } from '../../lambdas/handlers/gc-command';
import {
  type DistributionRegistry,
  describeWithDistribution,
  freePort,
  startDistributionRegistry,
} from '../fixtures/distribution-registry';
import { descriptorOf, OciPusher } from '../fixtures/oci-push';
import { startTokenServer, type TokenServer } from '../fixtures/token-server';

const USER = { username: 'ci-bot', password: 'pa:ss wörd' };

const byDigest = (images: readonly RegistryImage[], digest: string) => {
  const image = images.find((candidate) => candidate.digest === digest);
  if (!image) throw new Error(`${digest} not listed`);
  return image;
};

/** A DOCKER_CONFIG directory whose config.json holds `auths`. */
function dockerConfig(auths: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'janitor-docker-config-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths, ...extra }));
  return dir;
}

describeWithDistribution('OciRegistry against a real Distribution registry', () => {
  let registry: DistributionRegistry;
  let push: OciPusher;
  let oci: OciRegistry;

  beforeAll(async () => {
    registry = await startDistributionRegistry();
    push = new OciPusher(registry.url);
    oci = new OciRegistry({ url: new URL(registry.url) });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('follows Link pages of _catalog to the last repository', async () => {
    // Prepare
    const names = ['pages/a', 'pages/b', 'pages/c', 'pages/d', 'pages/e'];
    for (const name of names)
      await push.image(name, { seed: name, tags: ['v1'], created: '2026-01-01T00:00:00Z' });
    const paged = new OciRegistry({ url: new URL(registry.url), pageSize: 2 });

    // Act
    const repositories = await paged.listRepositories();

    // Assess
    expect(repositories).toEqual(expect.arrayContaining(names));
    expect(new Set(repositories).size).toBe(repositories.length);
  });

  it('lists tagged manifests, index children with attestations marked, cosign tags and referrers', async () => {
    // Prepare
    const repo = 'families';
    const plain = await push.image(repo, {
      seed: 'plain',
      tags: ['build-1', 'latest'],
      created: '2026-01-01T00:00:00Z',
    });
    const docker = await push.image(repo, {
      seed: 'docker',
      tags: ['build-2'],
      created: '2026-01-02T00:00:00Z',
      format: 'docker',
    });
    const multi = await push.multiArch(repo, {
      seed: 'multi',
      tags: ['build-3'],
      created: '2026-01-03T00:00:00Z',
      attestations: true,
    });
    const list = await push.multiArch(repo, {
      seed: 'list',
      tags: ['build-4'],
      created: '2026-01-04T00:00:00Z',
      format: 'docker',
    });
    const signature = await push.cosignSignature(repo, plain);
    const { referrer, fallbackIndex } = await push.referrer(repo, plain);

    // Act
    const images = await oci.listImages(repo);

    // Assess
    const expected = [
      plain,
      docker,
      multi.index,
      ...multi.children,
      ...multi.attestations,
      list.index,
      ...list.children,
      signature,
      referrer,
      fallbackIndex,
    ];
    expect(images.map((image) => image.digest).sort()).toEqual(
      expected.map((pushed) => pushed.digest).sort(),
    );
    expect(byDigest(images, plain.digest).tags).toEqual(['build-1', 'latest']);
    expect(byDigest(images, docker.digest).mediaType).toBe(
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    expect(byDigest(images, multi.index.digest).children).toEqual([
      { digest: multi.children[0]!.digest },
      { digest: multi.children[1]!.digest },
      { digest: multi.attestations[0]!.digest, attestation: true },
      { digest: multi.attestations[1]!.digest, attestation: true },
    ]);
    expect(byDigest(images, list.index.digest).mediaType).toBe(
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    expect(byDigest(images, signature.digest).tags).toEqual([`${plain.digest.replace(':', '-')}.sig`]);
    expect(byDigest(images, referrer.digest)).toMatchObject({
      subject: plain.digest,
      artifactType: 'application/spdx+json',
    });
    expect(byDigest(images, fallbackIndex.digest)).toMatchObject({
      tags: [plain.digest.replace(':', '-')],
      children: [{ digest: referrer.digest }],
    });
    for (const image of images) expect(image.repository).toBe(repo);
  });

  it('dates images by config created, indexes by annotation or newest platform child, and says which', async () => {
    // Prepare
    const repo = 'times';
    const image = await push.image(repo, { seed: 'img', tags: ['img'], created: '2026-02-01T10:00:00Z' });
    const newest = await push.multiArch(repo, {
      seed: 'newest',
      tags: ['newest'],
      created: '2026-02-01T00:00:00Z',
      childCreated: ['2026-02-01T00:00:00Z', '2026-02-03T00:00:00Z'],
      attestations: true,
    });
    const annotated = await push.multiArch(repo, {
      seed: 'annotated',
      tags: ['annotated'],
      created: '2026-02-05T00:00:00Z',
      annotations: { 'org.opencontainers.image.created': '2026-02-04T12:00:00Z' },
    });
    const reproducible = await push.image(repo, {
      seed: 'ko',
      tags: ['ko'],
      created: '1970-01-01T00:00:00Z',
    });
    const signature = await push.cosignSignature(repo, image);

    // Act
    const images = await oci.listImages(repo);

    // Assess
    expect(byDigest(images, image.digest)).toMatchObject({
      pushedAt: new Date('2026-02-01T10:00:00Z'),
      pushedAtSource: 'config-created',
    });
    expect(byDigest(images, newest.index.digest)).toMatchObject({
      pushedAt: new Date('2026-02-03T00:00:00Z'),
      pushedAtSource: 'newest-child',
    });
    expect(byDigest(images, annotated.index.digest)).toMatchObject({
      pushedAt: new Date('2026-02-04T12:00:00Z'),
      pushedAtSource: 'annotation',
    });
    expect(byDigest(images, newest.attestations[0]!.digest).pushedAtSource).toBe('unknown');
    expect(byDigest(images, reproducible.digest)).toMatchObject({
      pushedAt: new Date(0),
      pushedAtSource: 'unknown',
    });
    expect(byDigest(images, signature.digest).pushedAtSource).toBe('unknown');
  });

  it('sizes an image as config plus layers and an index as its largest platform child', async () => {
    const repo = 'sizes';
    const small = await push.image(repo, {
      seed: 's',
      tags: ['small'],
      created: '2026-01-01T00:00:00Z',
      layerSizesBytes: [100],
    });
    const multi = await push.multiArch(repo, { seed: 'm', tags: ['multi'], created: '2026-01-01T00:00:00Z' });

    const images = await oci.listImages(repo);

    expect(byDigest(images, small.digest).sizeBytes).toBe(small.contentBytes);
    expect(byDigest(images, multi.index.digest).sizeBytes).toBe(
      Math.max(...multi.children.map((child) => child.contentBytes)),
    );
  });

  it('deletes by digest (202), reports a second deletion as gone (404), and takes the tags along', async () => {
    // Prepare
    const repo = 'deleting';
    const keep = await push.image(repo, { seed: 'keep', tags: ['keep'], created: '2026-01-01T00:00:00Z' });
    const old = await push.image(repo, {
      seed: 'old',
      tags: ['old', 'older'],
      created: '2026-01-01T00:00:00Z',
    });

    // Act
    const first = await oci.deleteImages(repo, [old.digest]);
    const second = await oci.deleteImages(repo, [old.digest]);

    // Assess
    expect(first).toEqual([{ digest: old.digest, status: 'deleted' }]);
    expect(second).toEqual([{ digest: old.digest, status: 'gone' }]);
    const left = await oci.listImages(repo);
    expect(left.map((image) => image.digest)).toEqual([keep.digest]);
  });

  it('lists an emptied repository (its tag list is null) as empty', async () => {
    const repo = 'emptied';
    const only = await push.image(repo, { seed: 'only', tags: ['only'], created: '2026-01-01T00:00:00Z' });
    await oci.deleteImages(repo, [only.digest]);

    await expect(oci.listImages(repo)).resolves.toEqual([]);
    expect(await oci.listRepositories()).toContain(repo);
  });

  it('also reads sighted digests: an untagged index with its children, and nothing for one it does not hold', async () => {
    // Prepare: a tagged index, and an untagged one (deployed by digest) sharing its amd64 image.
    const repo = 'by-digest';
    const created = '2026-01-01T00:00:00Z';
    const tagged = await push.multiArch(repo, { seed: 's', tags: ['build-1'], created });
    const running = await push.multiArch(repo, {
      seed: 's',
      created,
      platforms: ['linux/amd64', 'linux/riscv64'],
    });
    const absent = `sha256:${'e'.repeat(64)}`;

    // Act
    const plain = await oci.listImages(repo);
    const sighted = await oci.listImages(repo, undefined, [running.index.digest, absent, 'not-a-digest']);

    // Assess
    const digestsOf = (images: readonly { digest: string }[]) => images.map((image) => image.digest).sort();
    expect(running.children[0]!.digest).toBe(tagged.children[0]!.digest);
    expect(digestsOf(plain)).toEqual(digestsOf([tagged.index, ...tagged.children]));
    expect(digestsOf(sighted)).toEqual(
      digestsOf([tagged.index, ...tagged.children, running.index, running.children[1]!]),
    );
    const runningIndex = sighted.find((image) => image.digest === running.index.digest)!;
    expect(runningIndex.tags).toEqual([]);
    expect(runningIndex.children?.map((child) => child.digest)).toEqual(
      running.children.map((child) => child.digest),
    );
  });

  it('leaves out a child that an index lists but the registry no longer has', async () => {
    const repo = 'dangling';
    const multi = await push.multiArch(repo, { seed: 'd', tags: ['multi'], created: '2026-01-01T00:00:00Z' });
    await oci.deleteImages(repo, [multi.children[0]!.digest]);

    const images = await oci.listImages(repo);

    expect(images.map((image) => image.digest).sort()).toEqual(
      [multi.index.digest, multi.children[1]!.digest].sort(),
    );
  });

  it('fails the listing, naming the reason, when an image config cannot be read', async () => {
    // Prepare: delete the config blob behind a tagged image (Distribution allows blob deletion)
    const repo = 'broken';
    await push.image(repo, { seed: 'fine', tags: ['fine'], created: '2026-01-01T00:00:00Z' });
    const broken = await push.image(repo, {
      seed: 'broken',
      tags: ['broken'],
      created: '2026-01-01T00:00:00Z',
    });
    const manifest = (await (
      await fetch(`${registry.url}/v2/${repo}/manifests/${broken.digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { config: { digest: string } };
    const configDigest = manifest.config.digest;
    const deleted = await fetch(`${registry.url}/v2/${repo}/blobs/${configDigest}`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);

    // Act / Assess
    await expect(oci.listImages(repo)).rejects.toThrow(
      new RegExp(`image config ${configDigest} in ${repo} failed: 404 BLOB_UNKNOWN`),
    );
  });

  it('lists a catalogued repository that was never tagged as holding no tagged images', async () => {
    // Prepare: pushed by digest only, so the catalog lists it and its tag list answers NAME_UNKNOWN.
    const untagged = await push.image('digest-only/app', {
      seed: 'by-digest',
      created: '2026-02-01T00:00:00Z',
    });
    const catalogued = new OciRegistry({ url: new URL(registry.url) });

    // Act
    const names = await catalogued.listRepositories();
    const images = await catalogued.listImages('digest-only/app');
    const sighted = await catalogued.listImages('digest-only/app', undefined, [untagged.digest]);

    // Assess
    expect(names).toContain('digest-only/app');
    expect(images).toEqual([]);
    expect(sighted.map((image) => image.digest)).toEqual([untagged.digest]);
    // Named by the user rather than found in the catalog, the same answer is an error.
    await expect(
      new OciRegistry({ url: new URL(registry.url) }).listImages('digest-only/app'),
    ).rejects.toThrow(/repository digest-only\/app does not exist.*NAME_UNKNOWN/);
  });

  /**
   * `gc --keep build=1` over builds build-1 (old) and build-2 of `repo`, with `race` run once the
   * repository is listed and before anything is deleted; its exit code and output.
   */
  async function gcWhileRacing(repo: string, race: () => Promise<void>) {
    const real = new OciRegistry({ url: new URL(registry.url) });
    const racing: Registry = {
      label: real.label,
      listsEveryManifest: real.listsEveryManifest,
      hosts: () => real.hosts(),
      listRepositories: () => real.listRepositories(),
      deleteImages: (repository, digests) => real.deleteImages(repository, digests),
      listImages: async (repository, onProgress, sighted) => {
        const images = await real.listImages(repository, onProgress, sighted);
        await race();
        return images;
      },
      currentTags: (repository, digests) => real.currentTags(repository, digests),
    };
    const out: string[] = [];
    const code = await runGc(
      {
        repositories: [repo],
        policy: policyFromFlags({ registry: registry.url, keep: ['build=1'] }),
        sightings: [],
        dryRun: false,
        json: false,
        verbose: false,
      },
      {
        registry: racing,
        now: () => new Date('2026-03-01T00:00:00Z'),
        stdout: (line) => out.push(line),
        stderr: (line) => out.push(line),
      },
    );
    return { code, output: out.join('\n') };
  }

  it('reads the tags of candidates again before deleting: a tag moved onto one since the listing keeps it', async () => {
    // Prepare
    const repo = 'rollback/web';
    const old = await push.image(repo, { seed: 'rb-1', tags: ['build-1'], created: '2026-01-01T00:00:00Z' });
    await push.image(repo, { seed: 'rb-2', tags: ['build-2'], created: '2026-01-02T00:00:00Z' });
    // A rollback re-tags the old build as prod while gc runs.
    const rollBack = async () => {
      const manifest = await fetch(`${registry.url}/v2/${repo}/manifests/build-1`, {
        headers: { accept: old.mediaType },
      });
      await push.manifest(repo, 'prod', await manifest.text(), old.mediaType);
    };

    // Act
    const { code, output } = await gcWhileRacing(repo, rollBack);

    // Assess
    expect(await push.has(repo, old.digest)).toBe(true);
    expect((await push.tags(repo)).sort()).toEqual(['build-1', 'build-2', 'prod']);
    expect(output).toContain('tags changed since the listing: [build-1] → [build-1, prod]');
    expect(code).toBe(1);
  });

  it('keeps a candidate whose tag moved away since the listing: onto a new index over it', async () => {
    // Prepare
    const repo = 'reindexed/web';
    const old = await push.image(repo, { seed: 'ri-1', tags: ['build-1'], created: '2026-01-01T00:00:00Z' });
    await push.image(repo, { seed: 'ri-2', tags: ['build-2'], created: '2026-01-02T00:00:00Z' });
    // `docker buildx imagetools create -t build-1 build-1`: build-1 becomes an index over the image.
    let index = '';
    const reindex = async () => {
      const text = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ ...descriptorOf(old), platform: { os: 'linux', architecture: 'amd64' } }],
      });
      index = (await push.manifest(repo, 'build-1', text, 'application/vnd.oci.image.index.v1+json')).digest;
    };

    // Act
    const { code, output } = await gcWhileRacing(repo, reindex);

    // Assess
    expect(await push.has(repo, old.digest)).toBe(true);
    expect(await push.has(repo, index)).toBe(true);
    expect(output).toContain('tags changed since the listing: [build-1] → []');
    expect(code).toBe(1);
  });

  it('fails a repository that does not exist', async () => {
    await expect(oci.listImages('no/such-repo')).rejects.toThrow(
      /repository no\/such-repo does not exist.*NAME_UNKNOWN/,
    );
  });

  it('fails with the address when the connection is refused', async () => {
    const port = await freePort();
    const nowhere = new OciRegistry({ url: new URL(`http://127.0.0.1:${port}`) });

    await expect(nowhere.listImages('web')).rejects.toThrow(`cannot reach 127.0.0.1:${port}: ECONNREFUSED`);
    await expect(nowhere.listRepositories()).rejects.toThrow('ECONNREFUSED');
  });

  it('names itself by host:port and matches sightings under that host', async () => {
    expect(oci.label).toBe(registry.host);
    await expect(oci.hosts()).resolves.toEqual([registry.host]);
  });
});

describeWithDistribution('OciRegistry behind htpasswd basic auth', () => {
  let registry: DistributionRegistry;
  let push: OciPusher;
  let image: { digest: string };

  beforeAll(async () => {
    registry = await startDistributionRegistry({ htpasswd: USER });
    push = new OciPusher(registry.url, USER);
    image = await push.image('private/web', { seed: 'p', tags: ['v1'], created: '2026-01-01T00:00:00Z' });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  const base64 = (text: string) => Buffer.from(text).toString('base64');

  it.each([
    [
      'auth under host:port',
      (host: string) => ({ [host]: { auth: base64(`${USER.username}:${USER.password}`) } }),
    ],
    [
      'auth under https://host:port',
      (host: string) => ({ [`https://${host}`]: { auth: base64(`${USER.username}:${USER.password}`) } }),
    ],
    ['username/password under http://host:port/v1/', (host: string) => ({ [`http://${host}/v1/`]: USER })],
  ])('reads credentials from DOCKER_CONFIG config.json (%s)', async (_name, auths) => {
    // Prepare
    const env = {
      DOCKER_CONFIG: dockerConfig({ 'other.example.com': { auth: base64('x:y') }, ...auths(registry.host) }),
    };
    const oci = new OciRegistry({ url: new URL(registry.url), ...lookupCredentials(registry.host, env) });

    // Act
    const images = await oci.listImages('private/web');

    // Assess
    expect(images.map((listed) => listed.digest)).toEqual([image.digest]);
    await expect(oci.listRepositories()).resolves.toEqual(['private/web']);
  });

  it('prefers REGISTRY_USERNAME/REGISTRY_PASSWORD over config.json, and deletes with them', async () => {
    // Prepare
    const other = await push.image('private/web', {
      seed: 'q',
      tags: ['v2'],
      created: '2026-01-02T00:00:00Z',
    });
    const env = {
      REGISTRY_USERNAME: USER.username,
      REGISTRY_PASSWORD: USER.password,
      DOCKER_CONFIG: dockerConfig({ [registry.host]: { auth: base64('wrong:wrong') } }),
    };
    const oci = new OciRegistry({ url: new URL(registry.url), ...lookupCredentials(registry.host, env) });

    // Act
    const result = await oci.deleteImages('private/web', [other.digest]);

    // Assess
    expect(result).toEqual([{ digest: other.digest, status: 'deleted' }]);
  });

  it('says that credentials are needed when there are none, and never shows a password', async () => {
    const env = { DOCKER_CONFIG: dockerConfig({}, { credsStore: 'desktop' }) };
    const oci = new OciRegistry({ url: new URL(registry.url), ...lookupCredentials(registry.host, env) });

    await expect(oci.listImages('private/web')).rejects.toThrow(
      /requires credentials \(Basic\).*REGISTRY_USERNAME.*credential helper 'desktop'/,
    );
  });

  it('says the credentials were refused, naming where they came from but not the secret', async () => {
    const env = {
      DOCKER_CONFIG: dockerConfig({ [registry.host]: { username: USER.username, password: 'not-it' } }),
    };
    const oci = new OciRegistry({ url: new URL(registry.url), ...lookupCredentials(registry.host, env) });

    const error = await oci.listImages('private/web').then(
      () => undefined,
      (caught: Error) => caught,
    );

    expect(error?.message).toMatch(/refused the credentials from .*config\.json auths\["127\.0\.0\.1:\d+"\]/);
    expect(error?.message).not.toContain('not-it');
  });
});

describeWithDistribution('OciRegistry behind bearer-token auth', () => {
  let tokens: TokenServer;
  let registry: DistributionRegistry;
  let pushed: { digest: string }[];

  beforeAll(async () => {
    tokens = await startTokenServer(USER);
    registry = await startDistributionRegistry({ token: tokens.registryConfig });
    const push = new OciPusher(registry.url, { bearer: tokens.mint(['repository:tokens/web:pull,push']) });
    pushed = [];
    for (const i of [1, 2, 3]) {
      pushed.push(
        await push.image('tokens/web', { seed: `t${i}`, tags: [`v${i}`], created: '2026-01-01T00:00:00Z' }),
      );
    }
    tokens.requests.length = 0;
  });
  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
  });

  it('answers the challenge with a token per scope from the realm, cached, and deletes with a delete scope', async () => {
    // Prepare
    const oci = new OciRegistry({
      url: new URL(registry.url),
      ...lookupCredentials(registry.host, {
        REGISTRY_USERNAME: USER.username,
        REGISTRY_PASSWORD: USER.password,
      }),
    });

    // Act
    const repositories = await oci.listRepositories();
    const images = await oci.listImages('tokens/web');
    const again = await oci.listImages('tokens/web');
    const deleted = await oci.deleteImages('tokens/web', [pushed[0]!.digest]);

    // Assess
    expect(repositories).toEqual(['tokens/web']);
    expect(images).toHaveLength(3);
    expect(again).toHaveLength(3);
    expect(deleted).toEqual([{ digest: pushed[0]!.digest, status: 'deleted' }]);
    expect(tokens.requests.map((request) => request.scopes.join(' '))).toEqual([
      'registry:catalog:*',
      'repository:tokens/web:pull',
      'repository:tokens/web:delete',
    ]);
  });

  it('says that credentials are needed when the token service refuses anonymous access', async () => {
    const oci = new OciRegistry({ url: new URL(registry.url) });

    await expect(oci.listImages('tokens/web')).rejects.toThrow(/requires credentials \(Bearer\)/);
  });

  it('says the token service refused the credentials, without the secret', async () => {
    const env = { REGISTRY_USERNAME: USER.username, REGISTRY_PASSWORD: 'hunter2' };
    const oci = new OciRegistry({ url: new URL(registry.url), ...lookupCredentials(registry.host, env) });

    const error = await oci.listImages('tokens/web').then(
      () => undefined,
      (caught: Error) => caught,
    );

    expect(error?.message).toMatch(
      /token service .* refused the credentials from REGISTRY_USERNAME\/REGISTRY_PASSWORD/,
    );
    expect(error?.message).not.toContain('hunter2');
  });
});
