import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeRepositoriesCommand,
  type ECRClient,
  type Image,
  type ImageDetail,
  type ImageFailure,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import pLimit from 'p-limit';
import { isIndex, type RegistryImage, type RegistryImageFields, registryImage } from '../core/model';
import type { DeleteResult, Progress, Registry } from '../core/ports';
import { describeAwsError } from './aws-errors';
import { readNextTokenEarly } from './early-next-token';
import { RegistryReadError } from './errors';
import { type IndexContent, parseIndexManifest } from './manifest';

const PAGE_SIZE = 1000;
const BATCH_GET_LIMIT = 100;
const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
/** Every manifest type ECR stores: for an image listed without its media type. */
const ANY_MANIFEST_TYPES = [
  ...INDEX_TYPES,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

export interface EcrRegistryOptions {
  readonly client: ECRClient;
  /** The region the client talks to, for output and host names. */
  readonly region: string;
  /** Concurrent manifest requests within one repository. @default 4 */
  readonly concurrency?: number;
}

/**
 * Amazon ECR through the AWS SDK: lists with the fewest calls (DescribeImages pages of 1,000;
 * BatchGetImage for index manifests only, 100 at a time, after pull times are read from the
 * listing), deletes by digest with BatchDeleteImage.
 */
export class EcrRegistry implements Registry {
  readonly label: string;
  readonly listsEveryManifest = true;
  private registryId: string | undefined;
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(private readonly options: EcrRegistryOptions) {
    this.label = options.region;
    this.limit = pLimit(options.concurrency ?? 4);
  }

  async hosts(): Promise<readonly string[]> {
    const id = this.registryId;
    if (id === undefined) return [];
    const region = this.options.region;
    return [
      `${id}.dkr.ecr.${region}.amazonaws.com`,
      `${id}.dkr.ecr.${region}.amazonaws.com.cn`,
      `${id}.dkr.ecr-fips.${region}.amazonaws.com`,
      `${id}.dkr-ecr.${region}.on.aws`,
    ];
  }

  async listRepositories(withTag?: {
    readonly key: string;
    readonly value: string;
  }): Promise<readonly string[]> {
    const repositories: { name: string; arn?: string }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('DescribeRepositories', undefined, () =>
        this.options.client.send(new DescribeRepositoriesCommand({ maxResults: PAGE_SIZE, nextToken })),
      );
      for (const repository of page.repositories ?? []) {
        if (repository.repositoryName)
          repositories.push({
            name: repository.repositoryName,
            ...(repository.repositoryArn ? { arn: repository.repositoryArn } : {}),
          });
        this.registryId ??= repository.registryId;
      }
      nextToken = page.nextToken;
    } while (nextToken);
    const selected = withTag ? await this.withTag(repositories, withTag) : repositories;
    return selected.map((repository) => repository.name).sort();
  }

  /** The repositories carrying resource tag `key=value` (ListTagsForResource, bounded concurrency). */
  private async withTag<T extends { name: string; arn?: string }>(
    repositories: readonly T[],
    tag: { readonly key: string; readonly value: string },
  ): Promise<T[]> {
    const tagged = await Promise.all(
      repositories.map((repository) =>
        this.limit(async () => {
          if (!repository.arn) return false;
          const answer = await this.call('ListTagsForResource', repository.name, () =>
            this.options.client.send(new ListTagsForResourceCommand({ resourceArn: repository.arn })),
          );
          return (answer.tags ?? []).some((entry) => entry.Key === tag.key && entry.Value === tag.value);
        }),
      ),
    );
    return repositories.filter((_, index) => tagged[index]);
  }

  async listImages(
    repository: string,
    onProgress?: (progress: Progress) => void,
    _sightedDigests?: readonly string[],
    whileNextPage?: (page: readonly RegistryImage[]) => void,
  ): Promise<readonly RegistryImage[]> {
    const images: RegistryImageFields[] = [];
    // Index manifests in flight are given up as soon as the listing fails, or one of them does.
    const reads = new AbortController();
    let readingEarly: Promise<Map<string, IndexContent>> | undefined;
    let readEarly = 0;
    let pageStart = 0;
    let current = this.describePage(repository, undefined);
    for (let first = true; ; first = false) {
      // The next page is asked for as soon as this one's raw answer names it: the SDK's reading of
      // this page and the adapter's below overlap its round trip.
      const early = await current.nextToken;
      let next = typeof early === 'string' ? this.describePage(repository, early) : undefined;
      if (early === undefined && !readingEarly) {
        // The last page's answer is in, so every pull time of the listing has been sent: the full
        // batches of the indexes listed so far are read while the SDK reads that page.
        const listed = indexDigests(images);
        readEarly = listed.length - (listed.length % BATCH_GET_LIMIT);
        if (readEarly > 0) {
          readingEarly = this.readIndexes(repository, listed.slice(0, readEarly), reads);
          // Awaited below; a listing that fails first makes its outcome moot.
          readingEarly.catch(() => undefined);
        }
      }
      try {
        const page = await current.output;
        const token = page.nextToken || undefined;
        if (token !== early) {
          // The early reading was wrong: the SDK's own reading decides which page comes next.
          next?.cancel();
          next = token ? this.describePage(repository, token) : undefined;
        }
        pageStart = images.length;
        for (const detail of pageDetails(page, repository, first && !next))
          images.push(this.toImage(repository, detail));
      } catch (error) {
        // The listing has failed: nothing asked for since is needed, nor is its failure.
        next?.cancel();
        reads.abort();
        throw error;
      }
      onProgress?.({ phase: `listing ${repository}`, done: images.length });
      if (!next) break;
      whileNextPage?.(images.slice(pageStart));
      current = next;
    }
    const [indexes, untyped] = await Promise.all([
      this.readIndexes(repository, indexDigests(images).slice(readEarly), reads),
      this.readUntyped(repository, untypedDigests(images), reads),
    ]);
    for (const [digest, content] of (await readingEarly) ?? []) indexes.set(digest, content);
    return images.map((image) => {
      const typed = untyped.get(image.digest);
      const content = indexes.get(image.digest) ?? typed?.index;
      if (!content && !typed) return image;
      return registryImage({
        ...image,
        mediaType: image.mediaType ?? typed?.mediaType,
        artifactType: image.artifactType ?? typed?.artifactType,
        children: content?.children,
        subject: image.subject ?? (content?.subject || undefined) ?? typed?.subject,
      });
    });
  }

  /**
   * The manifests of images ECR listed without a media type (the field is optional in its API),
   * read whatever their type: an index taken for a plain image would leave its platform images
   * looking like untagged roots of their own, and be deleted from under it. Any that cannot be
   * read fails the listing, as an index does.
   */
  private readUntyped(
    repository: string,
    digests: readonly string[],
    reads: AbortController,
  ): Promise<Map<string, Untyped>> {
    return this.readManifests(repository, digests, reads, {
      accepted: ANY_MANIFEST_TYPES,
      read: (digest, image) => this.classify(repository, digest, image),
      unread: (count, first) =>
        `could not read ${count} manifest(s) of ${repository} that ECR listed without a media type (first: ${first}); whether they are indexes decides what else may go`,
    });
  }

  /**
   * What a manifest listed without a media type is: an index (with its children), or an image or
   * artifact, with the `subject` it refers to (a signature listed without its subject would be a
   * root of its own, and go while its subject stays).
   */
  private classify(
    repository: string,
    digest: string,
    image: {
      readonly imageManifest?: string | undefined;
      readonly imageManifestMediaType?: string | undefined;
    },
  ): Untyped {
    let value: unknown;
    try {
      value = JSON.parse(image.imageManifest ?? '');
    } catch (error) {
      throw new RegistryReadError(`manifest ${digest} of ${repository} is not JSON`, { cause: error });
    }
    const declared = (value as { mediaType?: unknown } | null)?.mediaType;
    const mediaType =
      image.imageManifestMediaType ||
      (typeof declared === 'string' && declared !== '' ? declared : undefined);
    const manifest = value as {
      manifests?: unknown;
      subject?: { digest?: unknown };
      artifactType?: unknown;
    } | null;
    if (manifest?.manifests === undefined && !(mediaType && INDEX_TYPES.includes(mediaType))) {
      const subject = manifest?.subject?.digest;
      const artifactType = manifest?.artifactType;
      return {
        mediaType,
        ...(typeof subject === 'string' && subject !== '' ? { subject } : {}),
        ...(typeof artifactType === 'string' && artifactType !== '' ? { artifactType } : {}),
      };
    }
    return {
      mediaType: mediaType && INDEX_TYPES.includes(mediaType) ? mediaType : INDEX_TYPES[0],
      index: this.parseIndex(repository, digest, image.imageManifest ?? ''),
    };
  }

  async deleteImages(repository: string, digests: readonly string[]): Promise<readonly DeleteResult[]> {
    if (digests.length > BATCH_GET_LIMIT)
      throw new RangeError(`at most ${BATCH_GET_LIMIT} images per request`);
    const answer = await this.call('BatchDeleteImage', repository, () =>
      this.options.client.send(
        new BatchDeleteImageCommand({
          repositoryName: repository,
          imageIds: digests.map((imageDigest) => ({ imageDigest })),
        }),
      ),
    );
    const results = new Map<string, DeleteResult>();
    for (const id of answer.imageIds ?? []) {
      if (id.imageDigest) results.set(id.imageDigest, { digest: id.imageDigest, status: 'deleted' });
    }
    for (const failure of answer.failures ?? []) {
      const digest = failure.imageId?.imageDigest;
      if (!digest) continue;
      if (failure.failureCode === 'ImageNotFound') results.set(digest, { digest, status: 'gone' });
      else {
        results.set(digest, {
          digest,
          status: 'failed',
          code: failure.failureCode ?? 'Unknown',
          message: failure.failureReason ?? 'no reason given',
        });
      }
    }
    return [...results.values()];
  }

  /**
   * The tags of `digests` now: DescribeImages by digest, 100 at a time. ECR refuses a whole call
   * when one image of it is gone (ImageNotFoundException); the call is then split until the gone
   * ones are found, and left out of the answer. An answer that leaves out an image it was asked
   * for fails the read: nothing is deleted on a guess.
   */
  async currentTags(
    repository: string,
    digests: readonly string[],
  ): Promise<ReadonlyMap<string, readonly string[]>> {
    const tags = new Map<string, readonly string[]>();
    const chunks = inBatches(digests);
    // The first failure settles the answer: the calls still waiting or in flight are given up.
    const reads = new AbortController();
    await Promise.all(
      chunks.map((chunk) =>
        this.limit(async () => {
          if (reads.signal.aborted) return;
          await this.tagsByDigest(repository, chunk, tags, reads.signal).catch((error: unknown) => {
            reads.abort();
            throw error;
          });
        }),
      ),
    );
    return tags;
  }

  private async tagsByDigest(
    repository: string,
    digests: readonly string[],
    into: Map<string, readonly string[]>,
    signal: AbortSignal,
  ): Promise<void> {
    let details: readonly ImageDetail[];
    try {
      const answer = await this.options.client.send(
        new DescribeImagesCommand({
          repositoryName: repository,
          imageIds: digests.map((imageDigest) => ({ imageDigest })),
        }),
        { abortSignal: signal },
      );
      details = answer.imageDetails ?? [];
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'ImageNotFoundException') {
        throw new RegistryReadError(describeAwsError(error, 'ecr:DescribeImages', repository), {
          cause: error,
        });
      }
      // A single image not found is gone; several are asked again in halves.
      if (digests.length === 1) return;
      const half = Math.ceil(digests.length / 2);
      await this.tagsByDigest(repository, digests.slice(0, half), into, signal);
      await this.tagsByDigest(repository, digests.slice(half), into, signal);
      return;
    }
    for (const detail of details) {
      if (detail.imageDigest) into.set(detail.imageDigest, [...(detail.imageTags ?? [])].sort());
    }
    const unanswered = digests.find((digest) => !into.has(digest));
    if (unanswered !== undefined) {
      throw new RegistryReadError(
        `ecr:DescribeImages on ${repository} did not answer for ${unanswered}, asked for by digest`,
      );
    }
  }

  /** Asks for one DescribeImages page (see `PageRequest`). */
  private describePage(repository: string, nextToken: string | undefined): PageRequest {
    const command = new DescribeImagesCommand({
      repositoryName: repository,
      maxResults: PAGE_SIZE,
      nextToken,
    });
    let told: (token: string | undefined | typeof PAGE_FAILED) => void = () => undefined;
    const early = new Promise<string | undefined | typeof PAGE_FAILED>((resolve) => {
      told = resolve;
    });
    readNextTokenEarly(command, told);
    const abort = new AbortController();
    const output = this.call('DescribeImages', repository, () =>
      this.options.client.send(command, { abortSignal: abort.signal }),
    );
    output.then(
      (page) => told(page.nextToken || undefined),
      () => told(PAGE_FAILED),
    );
    return {
      output,
      nextToken: early,
      cancel: () => {
        output.catch(() => undefined);
        abort.abort();
      },
    };
  }

  private toImage(repository: string, detail: ImageDetail): RegistryImageFields {
    if (!detail.imageDigest || !detail.imagePushedAt) {
      throw new RegistryReadError(`ECR listed an image of ${repository} without a digest or push time`);
    }
    this.registryId ??= detail.registryId;
    return registryImage({
      repository,
      digest: detail.imageDigest,
      tags: [...(detail.imageTags ?? [])].sort(),
      pushedAt: detail.imagePushedAt,
      pushedAtSource: 'registry',
      sizeBytes: detail.imageSizeInBytes ?? 0,
      mediaType: detail.imageManifestMediaType || undefined,
      artifactType: detail.artifactMediaType || undefined,
      lastPulledAt: detail.lastRecordedPullTime || undefined,
      children: undefined,
      subject: detail.subjectManifestDigest || undefined,
    });
  }

  /**
   * Reads index manifests (`readManifests`): any index that cannot be read fails the listing.
   */
  private readIndexes(
    repository: string,
    digests: readonly string[],
    reads: AbortController,
  ): Promise<Map<string, IndexContent>> {
    return this.readManifests(repository, digests, reads, {
      accepted: INDEX_TYPES,
      read: (digest, image) => this.parseIndex(repository, digest, image.imageManifest ?? ''),
      unread: (count, first) =>
        `could not read ${count} index manifest(s) of ${repository} (first: ${first}); without their children nothing in it can be decided safely`,
    });
  }

  /**
   * Reads manifests with BatchGetImage, 100 per call, `read` turning each into what the listing
   * needs; any that cannot be read fails the listing, naming ECR's reason for the first. The first
   * failure aborts `reads`, and so the calls still in flight or waiting.
   */
  private async readManifests<T>(
    repository: string,
    digests: readonly string[],
    reads: AbortController,
    how: {
      readonly accepted: string[];
      readonly read: (digest: string, image: Image) => T;
      /** The error for `count` manifests not read, the first of them (with ECR's reason) `first`. */
      readonly unread: (count: number, first: string) => string;
    },
  ): Promise<Map<string, T>> {
    const contents = new Map<string, T>();
    const refusals = new Map<string, string>();
    await Promise.all(
      inBatches(digests).map((chunk) =>
        this.limit(async () => {
          const answer = await this.call('BatchGetImage', repository, () =>
            this.options.client.send(
              new BatchGetImageCommand({
                repositoryName: repository,
                imageIds: chunk.map((imageDigest) => ({ imageDigest })),
                acceptedMediaTypes: how.accepted,
              }),
              { abortSignal: reads.signal },
            ),
          ).catch((error: unknown) => {
            reads.abort();
            throw error;
          });
          for (const image of answer.images ?? []) {
            const digest = image.imageId?.imageDigest;
            if (digest && image.imageManifest) contents.set(digest, how.read(digest, image));
          }
          noteFailures(answer.failures, refusals);
        }),
      ),
    );
    const missing = digests.filter((digest) => !contents.has(digest));
    if (missing.length > 0) {
      throw new RegistryReadError(
        how.unread(missing.length, `${missing[0]}${refusalText(refusals, missing[0]!)}`),
      );
    }
    return contents;
  }

  private parseIndex(repository: string, digest: string, text: string): IndexContent {
    try {
      return parseIndexManifest(text);
    } catch (error) {
      throw new RegistryReadError(
        `index ${digest} of ${repository} is unreadable: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  private async call<T>(
    operation: string,
    repository: string | undefined,
    send: () => Promise<T>,
  ): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new RegistryReadError(describeAwsError(error, `ecr:${operation}`, repository), { cause: error });
    }
  }
}

/** What a page's `nextToken` settles with when the page failed: its `output` says why. */
const PAGE_FAILED = Symbol('page failed');

/** One DescribeImages page asked for. */
interface PageRequest {
  readonly output: Promise<DescribeImagesCommandOutput>;
  /**
   * The page's next token (undefined on the last page) as soon as its raw answer names it (see
   * early-next-token.ts), or else the SDK's reading of it; `PAGE_FAILED` when the page failed.
   */
  readonly nextToken: Promise<string | undefined | typeof PAGE_FAILED>;
  /** Gives the page up: the request is aborted, and its outcome ignored. */
  cancel(): void;
}

/** `digests` in requests of at most 100 ids (BatchGetImage, DescribeImages by id). */
function inBatches(digests: readonly string[]): string[][] {
  const batches: string[][] = [];
  for (let i = 0; i < digests.length; i += BATCH_GET_LIMIT)
    batches.push(digests.slice(i, i + BATCH_GET_LIMIT));
  return batches;
}

/** Notes ECR's reason for each image a BatchGetImage answer could not give (`failures`). */
function noteFailures(failures: readonly ImageFailure[] | undefined, into: Map<string, string>): void {
  for (const failure of failures ?? []) {
    const digest = failure.imageId?.imageDigest;
    if (digest)
      into.set(digest, `${failure.failureCode ?? 'Unknown'}: ${failure.failureReason ?? 'no reason given'}`);
  }
}

/** `: <ECR's reason>` for `digest`, when ECR gave one; an image gone since the listing says so. */
function refusalText(refusals: ReadonlyMap<string, string>, digest: string): string {
  const reason = refusals.get(digest);
  if (reason === undefined) return '';
  const gone = reason.startsWith('ImageNotFound:') ? ', deleted since it was listed: run again' : '';
  return `: ${reason}${gone}`;
}

/** What the manifest of an image listed without a media type says it is. */
interface Untyped {
  readonly mediaType: string | undefined;
  /** Its content, when it is an index. */
  readonly index?: IndexContent;
  /** The manifest it refers to, when it is a referrer. */
  readonly subject?: string;
  readonly artifactType?: string;
}

/** The digests of the images ECR listed without a manifest media type. */
function untypedDigests(images: readonly RegistryImage[]): string[] {
  return images.filter((image) => image.mediaType === undefined).map((image) => image.digest);
}

/** The digests of the indexes among `images`, in listing order. */
function indexDigests(images: readonly RegistryImage[]): string[] {
  return images.filter((image) => isIndex(image)).map((image) => image.digest);
}

/**
 * The image details of one DescribeImages page. An empty repository may answer without the list,
 * as its only page; anywhere else a page without it fails the listing: read as "no images", it
 * would hide images, and what they share would look unused.
 */
function pageDetails(
  page: { readonly imageDetails?: readonly ImageDetail[] | undefined },
  repository: string,
  onlyPage: boolean,
): readonly ImageDetail[] {
  if (page.imageDetails) return page.imageDetails;
  if (onlyPage) return [];
  throw new RegistryReadError(`ecr:DescribeImages answered a page of ${repository} without imageDetails`);
}
