import type { RegistryImage } from './model';

/** The result of deleting one manifest. `gone` means the registry no longer had it: fine. */
export type DeleteResult =
  | { readonly digest: string; readonly status: 'deleted' | 'gone' }
  | { readonly digest: string; readonly status: 'failed'; readonly code: string; readonly message: string };

/** Progress of long work, for a progress line on a terminal. */
export interface Progress {
  readonly phase: string;
  readonly done: number;
  readonly total?: number;
}

/**
 * A container registry, as the core needs it. Adapters implement it (ECR, OCI Distribution);
 * a new registry is a new adapter only.
 */
export interface Registry {
  /** A short label for output: the AWS region, or the registry's host. */
  readonly label: string;
  /**
   * False when the registry can list only manifests reachable from tags (the OCI Distribution
   * API): an untagged index that runs somewhere is then invisible to the listing.
   */
  readonly listsEveryManifest: boolean;
  /** Host names under which clusters pull from this registry, for matching tag sightings. */
  hosts(): Promise<readonly string[]>;
  /** Every repository, or only those carrying resource tag `withTag` (registries with tags: ECR). */
  listRepositories(withTag?: { readonly key: string; readonly value: string }): Promise<readonly string[]>;
  /**
   * Every manifest of a repository, complete, or a thrown error: a listing that fails part-way
   * must never look like a short repository. `sightedDigests` are digests clusters reported for
   * this repository: a registry that lists only what tags reach reads those it holds too (and
   * what hangs from them), so that a running untagged index is in the listing.
   *
   * `whileNextPage`, for a registry that lists in pages (ECR), is called with each page's images
   * as read, while the next page is being fetched: time the caller may use, as long as it is
   * short. The last page is not passed (nothing is being fetched then), nor is anything of an
   * index's manifest (its children).
   */
  listImages(
    repository: string,
    onProgress?: (progress: Progress) => void,
    sightedDigests?: readonly string[],
    whileNextPage?: (page: readonly RegistryImage[]) => void,
  ): Promise<readonly RegistryImage[]>;
  /**
   * Deletes manifests by digest in one request (at most 100). Per-image failures are results;
   * a thrown error means the request as a whole failed.
   */
  deleteImages(repository: string, digests: readonly string[]): Promise<readonly DeleteResult[]>;
  /**
   * The tags each of `digests` has now, read just before deleting them (`gc`); a digest absent
   * from the answer has no tag now (ECR: or is no longer in the repository). On an OCI
   * Distribution registry this lists and resolves every tag again.
   */
  currentTags?(
    repository: string,
    digests: readonly string[],
  ): Promise<ReadonlyMap<string, readonly string[]>>;
}
