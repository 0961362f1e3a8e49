import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ECRServiceException,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrRegistry } from '../../lambdas/adapters/ecr-registry';
import { executePlan } from '../../lambdas/core/execute-plan';
import type { RegistryImage } from '../../lambdas/core/model';
import { planCleanup } from '../../lambdas/core/plan';
import { anImage, aPolicy, digestOf, NOW } from '../fixtures/builders';
import { describePage, imageDetail, indexManifest, OCI_INDEX, REGISTRY_ID } from '../fixtures/ecr-responses';

const ecr = mockClient(ECRClient);
const registry = () =>
  new EcrRegistry({ client: new ECRClient({ region: 'eu-west-1' }), region: 'eu-west-1' });

beforeEach(() => ecr.reset());

/** The plan of `web` as listed, under `--delete-untagged` alone. */
const deleteUntaggedPlan = (images: readonly RegistryImage[]) =>
  planCleanup({
    repositories: [{ repository: 'web', images }],
    sightings: [],
    policy: aPolicy({ rules: { keep: [], deleteUntagged: true, unusedTagged: false } }),
    now: NOW,
  });

/** An error as the ECR client throws it. */
const ecrError = (name: string, fault: 'client' | 'server', message: string, $metadata = {}) =>
  new ECRServiceException({ name, $fault: fault, $metadata, message });

describe('EcrRegistry.listImages', () => {
  it('pages DescribeImages to the end at 1,000 per page', async () => {
    // Prepare
    const page = (n: number, count: number) =>
      Array.from({ length: count }, (_, i) => imageDetail(digestOf(`${n}-${i}`)));
    ecr
      .on(DescribeImagesCommand)
      .resolvesOnce(describePage(page(1, 1000), 't1'))
      .resolvesOnce(describePage(page(2, 1000), 't2'))
      .resolvesOnce(describePage(page(3, 500)));

    // Act
    const images = await registry().listImages('web');

    // Assess
    expect(images).toHaveLength(2500);
    const calls = ecr.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input);
    expect(calls).toEqual([
      { repositoryName: 'web', maxResults: 1000, nextToken: undefined },
      { repositoryName: 'web', maxResults: 1000, nextToken: 't1' },
      { repositoryName: 'web', maxResults: 1000, nextToken: 't2' },
    ]);
    expect(ecr.commandCalls(BatchGetImageCommand)).toHaveLength(0);
  });

  it('reads index manifests only, 100 per call, after every page was listed', async () => {
    // Prepare
    const indexes = Array.from({ length: 150 }, (_, i) => digestOf(`index-${i}`));
    const child = digestOf('child');
    ecr
      .on(DescribeImagesCommand)
      .resolves(
        describePage([
          imageDetail(child),
          ...indexes.map((digest) =>
            imageDetail(digest, { imageManifestMediaType: OCI_INDEX, imageTags: ['v1'] }),
          ),
        ]),
      );
    ecr.on(BatchGetImageCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => ({
      images: input.imageIds.map(({ imageDigest }) => ({
        imageId: { imageDigest },
        imageManifest: indexManifest([child], digestOf('attestation')),
        imageManifestMediaType: OCI_INDEX,
      })),
      failures: [],
    }));

    // Act
    const images = await registry().listImages('web');

    // Assess
    const batches = ecr.commandCalls(BatchGetImageCommand).map((call) => call.args[0].input.imageIds?.length);
    expect(batches).toEqual([100, 50]);
    const order = ecr.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(order).toEqual(['DescribeImagesCommand', 'BatchGetImageCommand', 'BatchGetImageCommand']);
    const index = images.find((image) => image.digest === indexes[0]);
    expect(index?.children).toEqual([
      { digest: child },
      { digest: digestOf('attestation'), attestation: true },
    ]);
  });

  it('keeps the pull times from the listing and the subject ECR reports', async () => {
    const pulled = new Date('2026-11-20T00:00:00Z');
    ecr.on(DescribeImagesCommand).resolves(
      describePage([
        imageDetail(digestOf('sig'), {
          lastRecordedPullTime: pulled,
          subjectManifestDigest: digestOf('image'),
        }),
      ]),
    );
    const [image] = await registry().listImages('web');
    expect(image).toMatchObject({
      lastPulledAt: pulled,
      subject: digestOf('image'),
      pushedAtSource: 'registry',
    });
  });

  it('fails the whole listing when a page fails part-way, naming the repository', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand)
      .resolvesOnce(describePage([imageDetail(digestOf('a'))], 't1'))
      .rejectsOnce(ecrError('ServerException', 'server', 'boom'));

    // Act / Assess
    await expect(registry().listImages('web')).rejects.toThrow(
      'ecr:DescribeImages on web failed: ServerException: boom',
    );
  });

  it('fails on a page it cannot read, and the page asked for meanwhile fails quietly', async () => {
    // Prepare: page 1 lists an image without a push time; page 2, already asked for, fails too.
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    const { imagePushedAt: _, ...noPushTime } = imageDetail(digestOf('a'));
    ecr
      .on(DescribeImagesCommand)
      .resolvesOnce(describePage([noPushTime], 't1'))
      .rejectsOnce(ecrError('ServerException', 'server', 'boom'));

    try {
      // Act / Assess
      await expect(registry().listImages('web')).rejects.toThrow('without a digest or push time');
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
      expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(2);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('fails on a page without imageDetails, unless it is the only page (an empty repository)', async () => {
    ecr.on(DescribeImagesCommand).resolvesOnce({});
    await expect(registry().listImages('web')).resolves.toEqual([]);

    ecr
      .reset()
      .on(DescribeImagesCommand)
      .resolvesOnce(describePage([imageDetail(digestOf('a'))], 't1'))
      .resolvesOnce({ nextToken: 't2' })
      .resolvesOnce(describePage([imageDetail(digestOf('b'))]));
    await expect(registry().listImages('web')).rejects.toThrow(
      'ecr:DescribeImages answered a page of web without imageDetails',
    );
  });

  it('surfaces throttling that outlasted the SDK retries as a failed listing', async () => {
    ecr
      .on(DescribeImagesCommand)
      .rejects(ecrError('ThrottlingException', 'client', 'Rate exceeded', { attempts: 3 }));
    await expect(registry().listImages('web')).rejects.toThrow(
      'ecr:DescribeImages on web failed: ThrottlingException: Rate exceeded',
    );
  });

  it('names the missing permission on AccessDenied', async () => {
    ecr.on(DescribeImagesCommand).rejects(ecrError('AccessDeniedException', 'client', 'not authorized'));
    await expect(registry().listImages('web')).rejects.toThrow(
      'access denied: the credentials lack ecr:DescribeImages on web',
    );
  });

  it('fails the listing when an index manifest cannot be read: its children would look unused', async () => {
    const index = digestOf('index');
    ecr
      .on(DescribeImagesCommand)
      .resolves(describePage([imageDetail(index, { imageManifestMediaType: OCI_INDEX })]));
    ecr.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [
        {
          imageId: { imageDigest: index },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
      ],
    });
    await expect(registry().listImages('web')).rejects.toThrow(
      `could not read 1 index manifest(s) of web (first: ${index}: ImageNotFound: Requested image not found, deleted since it was listed: run again)`,
    );
  });

  it('reads the manifest of an image listed without a media type: an index keeps its platform images', async () => {
    // Prepare: ECR's imageManifestMediaType is optional; an index without it looks like any image.
    const index = digestOf('untyped-index');
    const plain = digestOf('untyped-image');
    const [amd64, arm64] = [digestOf('amd64'), digestOf('arm64')];
    const untyped = (digest: string, changes: Parameters<typeof imageDetail>[1] = {}) => {
      const { imageManifestMediaType: _, ...detail } = imageDetail(digest, changes);
      return detail;
    };
    ecr
      .on(DescribeImagesCommand)
      .resolves(
        describePage([
          untyped(index, { imageTags: ['prod'], lastRecordedPullTime: NOW }),
          imageDetail(amd64),
          imageDetail(arm64),
          untyped(plain),
        ]),
      );
    ecr.on(BatchGetImageCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => ({
      images: input.imageIds.map(({ imageDigest }) => ({
        imageId: { imageDigest },
        imageManifest:
          imageDigest === index
            ? indexManifest([amd64, arm64])
            : JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' }),
      })),
      failures: [],
    }));

    // Act
    const images = await registry().listImages('web');
    const plan = deleteUntaggedPlan(images);

    // Assess
    expect(images.find((image) => image.digest === index)).toMatchObject({
      mediaType: OCI_INDEX,
      children: [{ digest: amd64 }, { digest: arm64 }],
    });
    expect(images.find((image) => image.digest === plain)?.mediaType).toBe(
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input.acceptedMediaTypes).toContain(
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    const decided = new Map(plan.repositories[0]!.items.map((item) => [item.digest, item.decision]));
    expect([decided.get(index), decided.get(amd64), decided.get(arm64)]).toEqual(['keep', 'keep', 'keep']);
    expect(decided.get(plain)).toBe('delete');
  });

  it('takes the subject of a referrer listed without a media type from its manifest: it stays with its image', async () => {
    // Prepare: ECR lists the signature with neither its media types nor its subject.
    const subject = digestOf('signed');
    const signature = digestOf('signature');
    const { imageManifestMediaType: _, artifactMediaType: __, ...untyped } = imageDetail(signature);
    ecr
      .on(DescribeImagesCommand)
      .resolves(describePage([imageDetail(subject, { imageTags: ['prod'] }), untyped]));
    ecr.on(BatchGetImageCommand).resolves({
      images: [
        {
          imageId: { imageDigest: signature },
          imageManifest: JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
            subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 1 },
          }),
        },
      ],
      failures: [],
    });

    // Act
    const images = await registry().listImages('web');
    const plan = deleteUntaggedPlan(images);

    // Assess
    expect(images.find((image) => image.digest === signature)).toMatchObject({
      subject,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    });
    expect(plan.repositories[0]!.items.map((item) => [item.role, item.decision])).toEqual([
      ['root', 'keep'],
      ['referrer', 'keep'],
    ]);
  });

  it('fails the listing when a manifest listed without a media type cannot be read', async () => {
    const { imageManifestMediaType: _, ...untyped } = imageDetail(digestOf('untyped'));
    ecr.on(DescribeImagesCommand).resolves(describePage([untyped]));
    ecr.on(BatchGetImageCommand).resolves({ images: [], failures: [] });
    await expect(registry().listImages('web')).rejects.toThrow(
      'could not read 1 manifest(s) of web that ECR listed without a media type',
    );
  });

  it('derives the registry host names from the registry id', async () => {
    ecr.on(DescribeImagesCommand).resolves(describePage([imageDetail(digestOf('a'))]));
    const ecrRegistry = registry();
    await ecrRegistry.listImages('web');
    expect(await ecrRegistry.hosts()).toContain(`${REGISTRY_ID}.dkr.ecr.eu-west-1.amazonaws.com`);
  });
});

describe('EcrRegistry.deleteImages', () => {
  it('maps deleted, already-gone and failed images, one result per digest', async () => {
    // Prepare
    const [deleted, gone, refused] = ['deleted', 'gone', 'refused'].map(digestOf);
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [
        { imageDigest: deleted, imageTag: 'v1' },
        { imageDigest: deleted, imageTag: 'latest' },
      ],
      failures: [
        {
          imageId: { imageDigest: gone },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
        {
          imageId: { imageDigest: refused },
          failureCode: 'ImageReferencedByManifestList',
          failureReason: 'Requested image referenced by manifest list',
        },
      ],
    });

    // Act
    const results = await registry().deleteImages('web', [deleted!, gone!, refused!]);

    // Assess
    expect(results).toEqual([
      { digest: deleted, status: 'deleted' },
      { digest: gone, status: 'gone' },
      {
        digest: refused,
        status: 'failed',
        code: 'ImageReferencedByManifestList',
        message: 'Requested image referenced by manifest list',
      },
    ]);
    expect(ecr.commandCalls(BatchDeleteImageCommand)[0]?.args[0].input.imageIds).toEqual(
      [deleted, gone, refused].map((imageDigest) => ({ imageDigest })),
    );
  });

  it("reports a request refused as a whole under the AWS error's code, for each of its images", async () => {
    // Prepare
    const digests = ['a', 'b'].map(digestOf) as string[];
    ecr.on(BatchDeleteImageCommand).rejects(ecrError('AccessDeniedException', 'client', 'not authorized'));
    const plan = planCleanup({
      repositories: [{ repository: 'web', images: digests.map((digest) => anImage(digest).build()) }],
      sightings: [],
      policy: aPolicy({ rules: { deleteUntagged: true, unusedTagged: true } }),
      now: NOW,
    });

    // Act
    const outcomes = await executePlan(plan, registry());

    // Assess
    expect(outcomes).toHaveLength(2);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({
        status: 'failed',
        code: 'AccessDeniedException',
        message: expect.stringContaining('access denied: the credentials lack ecr:BatchDeleteImage on web'),
      });
    }
  });

  it('refuses more than 100 images in one request', async () => {
    const digests = Array.from({ length: 101 }, (_, i) => digestOf(`${i}`));
    await expect(registry().deleteImages('web', digests)).rejects.toThrow('at most 100');
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });
});

describe('EcrRegistry.currentTags', () => {
  const digests = Array.from({ length: 150 }, (_, i) => digestOf(`now-${i}`));
  /** Answers DescribeImages by digest from `stored` (digest → tags), as ECR does: one missing id fails the call. */
  function answerFrom(stored: ReadonlyMap<string, string[]>) {
    ecr.on(DescribeImagesCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => {
      const missing = input.imageIds.find((id) => !stored.has(id.imageDigest));
      if (missing)
        throw ecrError(
          'ImageNotFoundException',
          'client',
          `The image with imageId {imageDigest:'${missing.imageDigest}'} does not exist`,
        );
      return {
        imageDetails: input.imageIds.map((id) =>
          imageDetail(id.imageDigest, { imageTags: stored.get(id.imageDigest)! }),
        ),
      };
    });
  }

  it('reads the tags by digest, 100 per call, sorted', async () => {
    // Prepare
    answerFrom(new Map(digests.map((digest, i) => [digest, i === 0 ? ['b', 'a'] : []])));

    // Act
    const tags = await registry().currentTags('web', digests);

    // Assess
    expect(tags.size).toBe(150);
    expect(tags.get(digests[0]!)).toEqual(['a', 'b']);
    const calls = ecr.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => [input.repositoryName, input.imageIds?.length, input.maxResults])).toEqual([
      ['web', 100, undefined],
      ['web', 50, undefined],
    ]);
  });

  it('leaves out the images gone since, finding them by halves when ECR refuses a whole call', async () => {
    // Prepare: 2 of the first 100 are gone.
    const gone = new Set([digests[3]!, digests[70]!]);
    answerFrom(new Map(digests.filter((digest) => !gone.has(digest)).map((digest) => [digest, ['x']])));

    // Act
    const tags = await registry().currentTags('web', digests);

    // Assess
    expect(tags.size).toBe(148);
    for (const digest of gone) expect(tags.has(digest)).toBe(false);
    // log2(100) rounds of halves at most for each gone image, far fewer than one call per image.
    expect(ecr.commandCalls(DescribeImagesCommand).length).toBeLessThan(30);
  });

  it('fails when an answer leaves out an image it was asked for, and on any other error', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [imageDetail(digests[0]!)] });
    // Act / Assess
    await expect(registry().currentTags('web', digests.slice(0, 2))).rejects.toThrow(
      `ecr:DescribeImages on web did not answer for ${digests[1]}, asked for by digest`,
    );
    ecr.reset();
    ecr.on(DescribeImagesCommand).rejects(ecrError('AccessDeniedException', 'client', 'not allowed'));
    await expect(registry().currentTags('web', digests.slice(0, 2))).rejects.toThrow(
      /access denied: the credentials lack ecr:DescribeImages on web/,
    );
  });

  it('gives up the calls still waiting once one has failed', async () => {
    // Prepare: 600 digests are 6 calls, 4 at a time; the first answers AccessDenied.
    const many = Array.from({ length: 600 }, (_, i) => digestOf(`many-${i}`));
    ecr
      .on(DescribeImagesCommand)
      .rejectsOnce(ecrError('AccessDeniedException', 'client', 'not allowed'))
      .callsFake((input: { imageIds: { imageDigest: string }[] }) => ({
        imageDetails: input.imageIds.map((id) => imageDetail(id.imageDigest)),
      }));

    // Act / Assess
    await expect(registry().currentTags('web', many)).rejects.toThrow(/access denied/);
    expect(ecr.commandCalls(DescribeImagesCommand).length).toBeLessThanOrEqual(4);
  });
});

describe('EcrRegistry.listRepositories', () => {
  it('lists every repository, or only those carrying a resource tag', async () => {
    // Prepare
    const arn = (name: string) => `arn:aws:ecr:eu-west-1:${REGISTRY_ID}:repository/${name}`;
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: ['web', 'api', 'batch'].map((repositoryName) => ({
        repositoryName,
        repositoryArn: arn(repositoryName),
        registryId: REGISTRY_ID,
      })),
    });
    ecr
      .on(ListTagsForResourceCommand, { resourceArn: arn('web') })
      .resolves({ tags: [{ Key: 'janitor', Value: 'managed' }] });
    ecr
      .on(ListTagsForResourceCommand, { resourceArn: arn('api') })
      .resolves({ tags: [{ Key: 'janitor', Value: 'off' }] });
    ecr.on(ListTagsForResourceCommand, { resourceArn: arn('batch') }).resolves({ tags: [] });

    // Act
    const all = await registry().listRepositories();
    const tagged = await registry().listRepositories({ key: 'janitor', value: 'managed' });

    // Assess
    expect(all).toEqual(['api', 'batch', 'web']);
    expect(tagged).toEqual(['web']);
  });

  it('fails, naming the permission, when tags cannot be read', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ repositoryName: 'web', repositoryArn: 'arn:aws:ecr:eu-west-1:1:repository/web' }],
    });
    ecr.on(ListTagsForResourceCommand).rejects(ecrError('AccessDeniedException', 'client', 'no'));
    await expect(registry().listRepositories({ key: 'k', value: 'v' })).rejects.toThrow(
      'ecr:ListTagsForResource',
    );
  });
});
