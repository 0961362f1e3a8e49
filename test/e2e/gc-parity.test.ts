import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DistributionRegistry,
  describeWithDistribution,
  startDistributionRegistry,
} from '../fixtures/distribution-registry';
import { type EcrFake, manifestFor, startEcrFake } from '../fixtures/ecr-fake';
import { OciPusher, type Pushed } from '../fixtures/oci-push';
import { type CaseImage, daysBefore, REGISTRY_CASES, type RegistryCase } from '../fixtures/registry-cases';
import { runCli, writeSightingsFile } from '../fixtures/run-cli';

const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

/** One image as pushed: the digest sightings name, and every manifest of its family. */
interface Seeded {
  readonly name: string;
  /** The digest a cluster would run: the image's own, or a platform child's. */
  readonly runDigest: string;
  readonly family: readonly string[];
}

/** Which images' families survive whole; throws when a family survives in part. */
function survivors(seeded: readonly Seeded[], present: ReadonlySet<string>): string[] {
  const names: string[] = [];
  for (const image of seeded) {
    const left = image.family.filter((digest) => present.has(digest));
    if (left.length === image.family.length) names.push(image.name);
    else if (left.length > 0)
      throw new Error(`${image.name}: ${left.length} of ${image.family.length} members left`);
  }
  return names.sort();
}

function sightingsFile(
  testCase: RegistryCase,
  host: string,
  repository: string,
  seeded: readonly Seeded[],
): string {
  const images = [
    ...(testCase.sightedTags ?? []).map((tag) => ({ image: `${host}/${repository}:${tag}` })),
    ...(testCase.sightedByDigest ?? []).map((name) => {
      const digest = seeded.find((image) => image.name === name)!.runDigest;
      return { image: `${host}/${repository}:whatever`, imageID: `${host}/${repository}@${digest}` };
    }),
  ];
  return writeSightingsFile('prod', images);
}

describeWithDistribution('gc decides the same on ECR and on an OCI Distribution registry', () => {
  let fake: EcrFake;
  let registry: DistributionRegistry;
  const now = new Date();

  beforeAll(async () => {
    fake = await startEcrFake();
    registry = await startDistributionRegistry();
  });
  afterAll(async () => {
    await fake?.close();
    await registry?.stop();
  });

  async function onEcr(testCase: RegistryCase): Promise<string[]> {
    fake.reset();
    const repository = 'parity';
    const seeded = testCase.images.map((image) => seedEcr(repository, image));
    const result = await runCli(
      [
        'gc',
        '--repo',
        repository,
        '--region',
        'us-east-1',
        ...testCase.flags,
        ...sightingsFlag(testCase, ECR_HOST, repository, seeded),
      ],
      { endpoint: fake.url },
    );
    expect(result.code).toBe(0);
    return survivors(seeded, new Set(fake.images(repository).map((image) => image.digest)));
  }

  function seedEcr(repository: string, image: CaseImage): Seeded {
    const pushedAt = daysBefore(now, image.pushedDaysAgo);
    const tags = image.tags ?? [];
    let seeded: Seeded;
    if (image.kind === 'multi-arch' || image.kind === 'multi-arch-attested') {
      const family = fake.putMultiArch({
        repository,
        seed: image.name,
        tags,
        pushedAt,
        attestations: image.kind === 'multi-arch-attested',
      });
      seeded = {
        name: image.name,
        runDigest: family.children[0]!.digest,
        family: [family.index, ...family.children, ...family.attestations].map((member) => member.digest),
      };
    } else {
      const stored = fake.putImage({
        repository,
        tags,
        pushedAt,
        manifest: manifestFor({ seed: image.name }),
      });
      seeded = { name: image.name, runDigest: stored.digest, family: [stored.digest] };
    }
    if (!image.signed) return seeded;
    const root = seeded.family[0]!;
    const signature = fake.putImage({
      repository,
      tags: [`${root.replace(':', '-')}.sig`],
      pushedAt,
      manifest: manifestFor({ seed: `${image.name}.sig`, layerSizesBytes: [256] }),
    });
    return { ...seeded, family: [...seeded.family, signature.digest] };
  }

  async function onDistribution(testCase: RegistryCase, index: number): Promise<string[]> {
    const repository = `parity/case${index}`;
    const push = new OciPusher(registry.url);
    const seeded: Seeded[] = [];
    for (const image of testCase.images) seeded.push(await seedDistribution(push, repository, image));
    const result = await runCli(
      [
        'gc',
        '--registry',
        registry.url,
        '--repo',
        repository,
        ...testCase.flags,
        ...sightingsFlag(testCase, registry.host, repository, seeded),
      ],
      { env: { DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'janitor-parity-')) } },
    );
    expect(result.code).toBe(0);
    const present = new Set<string>();
    for (const image of seeded) {
      for (const digest of image.family) if (await push.has(repository, digest)) present.add(digest);
    }
    return survivors(seeded, present);
  }

  async function seedDistribution(push: OciPusher, repository: string, image: CaseImage): Promise<Seeded> {
    const created = daysBefore(now, image.pushedDaysAgo).toISOString();
    const tags = image.tags ?? [];
    let seeded: Seeded;
    let root: Pushed;
    if (image.kind === 'multi-arch' || image.kind === 'multi-arch-attested') {
      const family = await push.multiArch(repository, {
        seed: `${repository}/${image.name}`,
        tags,
        created,
        attestations: image.kind === 'multi-arch-attested',
      });
      root = family.index;
      seeded = {
        name: image.name,
        runDigest: family.children[0]!.digest,
        family: [family.index, ...family.children, ...family.attestations].map((member) => member.digest),
      };
    } else {
      root = await push.image(repository, { seed: `${repository}/${image.name}`, tags, created });
      seeded = { name: image.name, runDigest: root.digest, family: [root.digest] };
    }
    if (!image.signed) return seeded;
    const signature = await push.cosignSignature(repository, root);
    return { ...seeded, family: [...seeded.family, signature.digest] };
  }

  function sightingsFlag(
    testCase: RegistryCase,
    host: string,
    repository: string,
    seeded: readonly Seeded[],
  ): string[] {
    if (!testCase.sightedTags && !testCase.sightedByDigest) return [];
    return ['--sightings', sightingsFile(testCase, host, repository, seeded)];
  }

  it.each(REGISTRY_CASES.map((testCase, index) => [testCase.name, testCase, index] as const))(
    '%s',
    async (_name, testCase, index) => {
      // Act
      const ecr = await onEcr(testCase);
      const distribution = await onDistribution(testCase, index);

      // Assess
      expect(ecr).toEqual([...testCase.surviving].sort());
      expect(distribution).toEqual(ecr);
    },
  );
});
