import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeRepositoriesCommand,
  ECRClient,
  ListImagesCommand,
  paginateDescribeImages,
  RepositoryNotFoundException,
  ServerException,
} from '@aws-sdk/client-ecr';
import { digestOf, type EcrFake, MEDIA_TYPES, manifestFor, startEcrFake } from '../fixtures/ecr-fake';

const NOW = new Date('2026-11-22T12:00:00.250Z');
const DAY_MS = 24 * 60 * 60 * 1000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY_MS);

/** Every manifest media type, so that BatchGetImage returns indexes as they are. */
const ACCEPTED_MEDIA_TYPES = [
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.ociIndex,
];

let fake: EcrFake;
let ecr: ECRClient;

beforeAll(async () => {
  fake = await startEcrFake({ now: () => NOW });
  ecr = new ECRClient({
    endpoint: fake.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  ecr.destroy();
  await fake.close();
});

beforeEach(() => fake.reset());

function putManyImages(repository: string, count: number): void {
  for (let i = 0; i < count; i++) {
    fake.putImage({
      repository,
      manifest: manifestFor({ seed: `${repository}-${i}` }),
      pushedAt: new Date(daysAgo(30).getTime() + i * 1000),
      ...(i % 2 === 0 ? { tags: [`build-${i}`] } : {}),
      ...(i === 7 ? { lastRecordedPullTime: daysAgo(2) } : {}),
    });
  }
}

async function listAll(repository: string, maxResults: number): Promise<DescribeImagesCommandOutput[]> {
  const pages: DescribeImagesCommandOutput[] = [];
  for await (const page of paginateDescribeImages(
    { client: ecr },
    { repositoryName: repository, maxResults },
  )) {
    pages.push(page);
  }
  return pages;
}

describe('ECR fake spoken to by the real SDK', () => {
  it('pages DescribeImages over 2,500 images in three pages of at most 1,000, in push order', async () => {
    // Prepare
    putManyImages('big', 2_500);

    // Act
    const pages = await listAll('big', 1_000);

    // Assess
    expect(pages.map((page) => page.imageDetails?.length)).toEqual([1_000, 1_000, 500]);
    expect(fake.calls.DescribeImages).toBe(3);
    const details = pages.flatMap((page) => page.imageDetails ?? []);
    const expectedDigests = fake.images('big').map((image) => image.digest);
    expect(details.map((detail) => detail.imageDigest)).toEqual(expectedDigests);
    expect(new Set(expectedDigests).size).toBe(2_500);
    const [first, second] = details;
    expect(first).toMatchObject({
      imageTags: ['build-0'],
      repositoryName: 'big',
      registryId: '123456789012',
    });
    expect(first?.imagePushedAt).toEqual(daysAgo(30));
    expect(first?.imageManifestMediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(first?.artifactMediaType).toBe(MEDIA_TYPES.ociConfig);
    expect(first?.imageSizeInBytes).toBeGreaterThan(29_000_000);
    expect(second?.imageTags).toBeUndefined();
    expect(second?.lastRecordedPullTime).toBeUndefined();
    expect(details[7]?.lastRecordedPullTime).toEqual(daysAgo(2));
  });

  it('keeps fractional epoch seconds, so push times round-trip to the millisecond', async () => {
    // Prepare
    const pushedAt = new Date('2026-11-20T08:15:30.123Z');
    const image = fake.putImage({ repository: 'web', tags: ['v1'], pushedAt });

    // Act
    const out = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'web', imageIds: [{ imageTag: 'v1' }] }),
    );

    // Assess
    expect(out.imageDetails?.[0]?.imageDigest).toBe(image.digest);
    expect(out.imageDetails?.[0]?.imagePushedAt?.getTime()).toBe(pushedAt.getTime());
  });

  it('rejects maxResults above 1,000 with InvalidParameterException', async () => {
    // Prepare
    fake.addRepository('web');

    // Act
    const attempt = ecr.send(new DescribeImagesCommand({ repositoryName: 'web', maxResults: 1_001 }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidParameterException', $fault: 'client' });
  });

  it('retries a throttled page and still returns every image (every third request throttled)', async () => {
    // Prepare
    putManyImages('big', 2_500);
    fake.setFaults({ throttleEvery: 3 });

    // Act
    const pages = await listAll('big', 1_000);

    // Assess
    expect(pages.flatMap((page) => page.imageDetails ?? [])).toHaveLength(2_500);
    expect(fake.calls.throttled).toBe(1);
    expect(fake.calls.DescribeImages).toBe(4);
    expect(fake.calls.log.map((call) => call.errorCode ?? 'ok')).toEqual([
      'ok',
      'ok',
      'ThrottlingException',
      'ok',
    ]);
    expect(pages[2]?.$metadata.attempts).toBe(2);
  });

  it('throttles a seeded share of requests, the same ones each run, and the SDK recovers from each', async () => {
    const runOnce = async () => {
      fake.reset();
      putManyImages('big', 2_500);
      fake.setFaults({ throttleRate: 0.1, seed: 42 });
      const pages = await listAll('big', 100);
      return {
        images: pages.flatMap((page) => page.imageDetails ?? []).length,
        log: fake.calls.log.map((c) => c.status),
      };
    };

    // Act
    const first = await runOnce();
    const throttled = fake.calls.throttled;
    const requests = fake.calls.DescribeImages;
    const second = await runOnce();

    // Assess
    expect(first.images).toBe(2_500);
    expect(throttled).toBeGreaterThan(0);
    expect(requests).toBe(25 + throttled);
    expect(second).toEqual(first);
  });

  it('returns stored manifests from BatchGetImage and records the pull on the fetched image only', async () => {
    // Prepare
    const family = fake.putMultiArch({
      repository: 'web',
      seed: 'web-1',
      tags: ['1.0'],
      pushedAt: daysAgo(10),
    });
    const [amd64, arm64] = family.children;
    const before = await ecr.send(new DescribeImagesCommand({ repositoryName: 'web' }));
    const unknown = digestOf('never pushed');

    // Act
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'web',
        imageIds: [{ imageTag: '1.0' }, { imageDigest: unknown }],
        acceptedMediaTypes: ACCEPTED_MEDIA_TYPES,
      }),
    );

    // Assess
    expect(before.imageDetails?.every((detail) => detail.lastRecordedPullTime === undefined)).toBe(true);
    expect(out.images).toHaveLength(1);
    const [image] = out.images ?? [];
    expect(image?.imageId).toEqual({ imageDigest: family.index.digest, imageTag: '1.0' });
    expect(image?.imageManifestMediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(image?.imageManifest).toBe(family.index.manifest);
    expect(digestOf(image?.imageManifest ?? '')).toBe(family.index.digest);
    const index: unknown = JSON.parse(image?.imageManifest ?? '{}');
    expect(index).toMatchObject({
      manifests: [
        { digest: amd64?.digest, platform: { os: 'linux', architecture: 'amd64' } },
        { digest: arm64?.digest, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    });
    expect(out.failures).toEqual([
      {
        imageId: { imageDigest: unknown },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    const after = await ecr.send(new DescribeImagesCommand({ repositoryName: 'web' }));
    const pullTimes = new Map(after.imageDetails?.map((d) => [d.imageDigest, d.lastRecordedPullTime]));
    expect(pullTimes.get(family.index.digest)).toEqual(NOW);
    expect(pullTimes.get(amd64?.digest)).toBeUndefined();
    expect(fake.images('web').find((i) => i.digest === family.index.digest)?.lastRecordedPullTime).toEqual(
      NOW,
    );
  });

  it('reports the largest child as the size of an index and lists attestations as unknown/unknown', async () => {
    // Prepare
    const family = fake.putMultiArch({
      repository: 'web',
      seed: 'web-2',
      pushedAt: daysAgo(1),
      attestations: true,
    });

    // Act
    const out = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'web', imageIds: [{ imageDigest: family.index.digest }] }),
    );

    // Assess
    const childSizes = family.children.map((child) => child.sizeBytes);
    expect(out.imageDetails?.[0]?.imageSizeInBytes).toBe(Math.max(...childSizes));
    expect(out.imageDetails?.[0]?.imageTags).toBeUndefined();
    const index: unknown = JSON.parse(family.index.manifest);
    expect(index).toMatchObject({
      manifests: [
        {},
        {},
        {
          digest: family.attestations[0]?.digest,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: {
            'vnd.docker.reference.type': 'attestation-manifest',
            'vnd.docker.reference.digest': family.children[0]?.digest,
          },
        },
        { digest: family.attestations[1]?.digest },
      ],
    });
    expect(fake.images('web')).toHaveLength(5);
  });

  it('refuses to delete a child while its index exists, even when the index is deleted in the same request', async () => {
    // Prepare
    const family = fake.putMultiArch({
      repository: 'web',
      seed: 'web-3',
      tags: ['2.0'],
      pushedAt: daysAgo(40),
    });
    const [amd64, arm64] = family.children;
    const unknown = digestOf('never pushed');

    // Act
    const first = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'web',
        imageIds: [
          { imageDigest: family.index.digest },
          { imageDigest: amd64?.digest },
          { imageDigest: unknown },
        ],
      }),
    );
    const second = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'web',
        imageIds: [{ imageDigest: amd64?.digest }, { imageDigest: arm64?.digest }],
      }),
    );

    // Assess
    expect(first.imageIds).toEqual([{ imageDigest: family.index.digest, imageTag: '2.0' }]);
    expect(first.failures?.map((f) => [f.imageId?.imageDigest, f.failureCode])).toEqual([
      [amd64?.digest, 'ImageReferencedByManifestList'],
      [unknown, 'ImageNotFound'],
    ]);
    expect(first.failures?.[0]?.failureReason).toContain(family.index.digest);
    expect(second.imageIds?.map((id) => id.imageDigest)).toEqual([amd64?.digest, arm64?.digest]);
    expect(second.failures).toEqual([]);
    expect(fake.images('web')).toEqual([]);
  });

  it('answers injected per-digest delete failures and keeps those images', async () => {
    // Prepare
    const kept = fake.putImage({ repository: 'web', tags: ['old'], pushedAt: daysAgo(90) });
    const gone = fake.putImage({ repository: 'web', pushedAt: daysAgo(90) });
    fake.failDeletes({ [kept.digest]: 'ImageTagDoesNotMatchDigest' });

    // Act
    const out = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'web',
        imageIds: [{ imageDigest: kept.digest }, { imageDigest: gone.digest }],
      }),
    );

    // Assess
    expect(out.imageIds).toEqual([{ imageDigest: gone.digest }]);
    expect(out.failures?.[0]).toMatchObject({
      imageId: { imageDigest: kept.digest },
      failureCode: 'ImageTagDoesNotMatchDigest',
    });
    expect(fake.images('web').map((image) => image.digest)).toEqual([kept.digest]);
  });

  it('rejects a BatchDeleteImage of more than 100 image ids', async () => {
    // Prepare
    fake.addRepository('web');
    const imageIds = Array.from({ length: 101 }, (_, i) => ({ imageDigest: digestOf(`x${i}`) }));

    // Act
    const attempt = ecr.send(new BatchDeleteImageCommand({ repositoryName: 'web', imageIds }));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect(fake.calls.BatchDeleteImage).toBe(1);
  });

  it('surfaces a page that keeps failing as ServerException after the SDK has tried three times', async () => {
    // Prepare
    putManyImages('big', 2_500);
    fake.failDescribeImagesPage(2, 'big');

    // Act
    const attempt = listAll('big', 1_000);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ServerException);
    await attempt.catch((error: ServerException) => expect(error.$metadata.attempts).toBe(3));
    expect(fake.calls.DescribeImages).toBe(4);
    expect(fake.calls.log.map((call) => call.status)).toEqual([200, 500, 500, 500]);
  });

  it('answers RepositoryNotFoundException as the SDK modelled exception', async () => {
    // Act
    const attempt = ecr.send(new DescribeImagesCommand({ repositoryName: 'missing' }));

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(RepositoryNotFoundException);
    await expect(attempt).rejects.toThrow("The repository with name 'missing' does not exist");
  });

  it('describes repositories by name and pages through all of them', async () => {
    // Prepare
    for (const name of ['api', 'web', 'worker']) fake.addRepository(name, daysAgo(100));

    // Act
    const named = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['web'] }));
    const firstPage = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2 }));
    const secondPage = await ecr.send(new DescribeRepositoriesCommand({ nextToken: firstPage.nextToken }));
    const missing = ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope'] }));

    // Assess
    expect(named.repositories).toEqual([
      expect.objectContaining({
        repositoryName: 'web',
        repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/web',
        repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/web',
        createdAt: daysAgo(100),
      }),
    ]);
    expect(firstPage.repositories?.map((r) => r.repositoryName)).toEqual(['api', 'web']);
    expect(secondPage.repositories?.map((r) => r.repositoryName)).toEqual(['worker']);
    expect(secondPage.nextToken).toBeUndefined();
    await expect(missing).rejects.toBeInstanceOf(RepositoryNotFoundException);
  });

  it('lists one image id per tag with ListImages', async () => {
    // Prepare
    const image = fake.putImage({ repository: 'web', tags: ['a', 'b'], pushedAt: daysAgo(3) });
    const untagged = fake.putImage({ repository: 'web', pushedAt: daysAgo(2) });

    // Act
    const out = await ecr.send(new ListImagesCommand({ repositoryName: 'web' }));

    // Assess
    expect(out.imageIds).toEqual([
      { imageDigest: image.digest, imageTag: 'a' },
      { imageDigest: image.digest, imageTag: 'b' },
      { imageDigest: untagged.digest },
    ]);
  });

  it('sends errors as AWS JSON 1.1 does: status 400, __type in the body and x-amzn-errortype', async () => {
    // Act
    const response = await fetch(fake.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.BatchGetImage',
      },
      body: JSON.stringify({ repositoryName: 'missing', imageIds: [{ imageTag: 'x' }] }),
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('RepositoryNotFoundException');
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toEqual({
      __type: 'RepositoryNotFoundException',
      message: "The repository with name 'missing' does not exist in the registry with id '123456789012'",
    });
  });
});
