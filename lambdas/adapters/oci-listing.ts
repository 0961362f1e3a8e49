import { type RegistryImage, registryImage } from '../core/model';
import type { Progress } from '../core/ports';
import { MAX_CLOCK_SKEW_MS } from '../core/report';
import { RegistryAccessError, RegistryReadError } from './errors';
import {
  describeResponse,
  isManifestUnknown,
  isNameUnknown,
  nextPage,
  type OciHttp,
  type OciResponse,
} from './oci-http';
import {
  configCreated,
  MANIFEST_ACCEPT,
  type ManifestContent,
  matchesDigest,
  parseManifest,
  sha256Digest,
} from './oci-manifest';
import { type Dated, datePushes, type ListedManifest } from './oci-push-time';

/** One manifest of a repository as read: its digest, tags and content. */
interface Entry extends ListedManifest {
  readonly tags: string[];
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DIGEST = /^sha(?:256:[a-f0-9]{64}|512:[a-f0-9]{128})$/;
const NO_REFERRERS_API: ReadonlySet<number> = new Set([400, 404, 405, 501]);

/** State shared by the listings of one registry: what it supports, configs already read. */
export interface ListingContext {
  readonly http: OciHttp;
  /** `n` of `tags/list` pages. */
  readonly pageSize: number;
  /** Whether the registry has the referrers API; undefined until asked. */
  referrersApi?: boolean;
  /** `created` of image configs by digest (content-addressed, so shared by repositories). */
  readonly configTimes: Map<string, Promise<Date | undefined>>;
  /**
   * The repositories the registry's catalog listed. Distribution lists one pushed by digest only
   * (or holding only the blobs of an aborted push), whose tag list then answers `NAME_UNKNOWN`:
   * for these that means "no tags", not a repository missing.
   */
  readonly catalogued: Set<string>;
}

/**
 * Lists one repository of a Distribution registry: every tagged manifest, the children of
 * indexes (recursively) and referrers (from the referrers API where the registry has it; the
 * `sha256-<hex>` fallback tags and cosign tags are tags), each dated by its config's `created`
 * (indexes by their `org.opencontainers.image.created` annotation, else their newest platform
 * child). Untagged manifests that are none of these cannot be seen through the API, except the
 * `sighted` digests, read by digest (a running untagged index, with what hangs from it; one the
 * registry does not hold is left out). Throws when any tagged or sighted manifest, or the config
 * that dates an image, cannot be read: a partial listing would make the unread images' children
 * look unused.
 */
export async function listRepository(
  context: ListingContext,
  repository: string,
  onProgress?: (progress: Progress) => void,
  sighted: readonly string[] = [],
): Promise<RegistryImage[]> {
  const scope = `repository:${repository}:pull`;
  const report = (done: number) => onProgress?.({ phase: `reading manifests of ${repository}`, done });
  const entries = await readTagged(context, repository, scope);
  await readSighted(context, repository, scope, sighted, entries);
  report(entries.size);
  let frontier = [...entries.values()];
  while (frontier.length > 0) {
    frontier = await readMembers(context, repository, scope, frontier, entries);
    report(entries.size);
  }
  const dated = await datePushes(
    entries,
    (digest) => readConfigTime(context, repository, digest, scope),
    Date.now() + MAX_CLOCK_SKEW_MS,
  );
  return [...entries.values()].map((entry) => toImage(repository, entry, dated.get(entry.digest)!));
}

/**
 * The tags each of `digests` carries now, as `Registry.currentTags` has it: the API cannot ask a
 * manifest for its tags, so every tag of the repository is listed again and resolved (HEAD, its
 * `Docker-Content-Digest`; else the manifest read and hashed). A tag moved onto a candidate since
 * the listing (a rollback re-tagging an old build) is found this way, and Distribution would
 * delete it with the manifest; so is one whose tag moved away. A digest no tag names has `[]`.
 * Throws when any tag cannot be resolved: a deletion is never made on a guess.
 */
export async function currentTagsOf(
  context: ListingContext,
  repository: string,
  digests: readonly string[],
): Promise<Map<string, string[]>> {
  const scope = `repository:${repository}:pull`;
  const tags = await listTags(context, repository, scope);
  // A candidate no tag names now is untagged, as ECR answers it: one tagged at the listing has
  // lost its tag since (moved, perhaps onto a new index over it), and is not deleted on that.
  const current = new Map<string, string[]>(digests.map((digest) => [digest, []]));
  await Promise.all(
    tags.map(async (tag) => {
      const digest = await tagDigest(context.http, repository, tag, scope);
      if (digest !== undefined) current.get(digest)?.push(tag);
    }),
  );
  return current;
}

/** The digest `tag` names now; undefined when the registry says the tag is gone. */
async function tagDigest(
  http: OciHttp,
  repository: string,
  tag: string,
  scope: string,
): Promise<string | undefined> {
  const path = `/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
  const head = await http.request(path, { method: 'HEAD', accept: MANIFEST_ACCEPT, scope });
  const announced = head.status === 200 ? head.headers.get('docker-content-digest') : null;
  if (announced !== null && DIGEST.test(announced)) return announced;
  // A HEAD answer has no body to say why it failed, nor bytes to hash: read the manifest.
  return (await readManifest(http, repository, tag, scope))?.digest;
}

/** Every tagged manifest, once per digest with all its tags. */
async function readTagged(
  context: ListingContext,
  repository: string,
  scope: string,
): Promise<Map<string, Entry>> {
  const tags = await listTags(context, repository, scope);
  const read = await Promise.all(
    tags.map(async (tag) => {
      const found = await readManifest(context.http, repository, tag, scope, { required: true });
      return { tag, ...found! };
    }),
  );
  const entries = new Map<string, Entry>();
  for (const { tag, digest, content } of read) {
    const known = entries.get(digest);
    if (known) known.tags.push(tag);
    else entries.set(digest, { digest, tags: [tag], content });
  }
  return entries;
}

/** Adds the `sighted` digests that are not tagged and that the registry holds, untagged. */
async function readSighted(
  context: ListingContext,
  repository: string,
  scope: string,
  sighted: readonly string[],
  entries: Map<string, Entry>,
): Promise<void> {
  const untagged = [...new Set(sighted)].filter((digest) => DIGEST.test(digest) && !entries.has(digest));
  const found = await Promise.all(
    untagged.map((digest) => readManifest(context.http, repository, digest, scope)),
  );
  for (const read of found) {
    if (read && !entries.has(read.digest))
      entries.set(read.digest, { digest: read.digest, tags: [], content: read.content });
  }
}

/**
 * Reads what the `frontier` manifests point to or are pointed to by (children of indexes,
 * referrers from the API) and adds what is new to `entries`; returns the new ones. A child that
 * an index lists but the registry does not have is left out: there is nothing to delete.
 */
async function readMembers(
  context: ListingContext,
  repository: string,
  scope: string,
  frontier: readonly Entry[],
  entries: Map<string, Entry>,
): Promise<Entry[]> {
  const wanted = new Set<string>();
  for (const entry of frontier) {
    if (entry.content.kind === 'index') for (const child of entry.content.children) wanted.add(child.digest);
  }
  for (const digest of await referrersOf(context, repository, frontier, scope)) wanted.add(digest);
  const missing = [...wanted].filter((digest) => !entries.has(digest));
  const found = await Promise.all(
    missing.map((digest) => readManifest(context.http, repository, digest, scope)),
  );
  const added: Entry[] = [];
  for (const read of found) {
    if (!read || entries.has(read.digest)) continue;
    const entry = { digest: read.digest, tags: [], content: read.content };
    entries.set(read.digest, entry);
    added.push(entry);
  }
  return added;
}

async function listTags(context: ListingContext, repository: string, scope: string): Promise<string[]> {
  const { http } = context;
  const tags: string[] = [];
  let path: string | undefined = `/v2/${repository}/tags/list?n=${context.pageSize}`;
  const seen = new Set<string>();
  while (path !== undefined) {
    if (seen.has(path))
      throw new RegistryReadError(`the tag list of ${repository} pages in a loop at ${path}`);
    seen.add(path);
    const response = await http.request(path, { scope });
    if (response.status === 404) {
      if (seen.size === 1 && context.catalogued.has(repository) && isNameUnknown(response)) return [];
      throw new RegistryReadError(`repository ${repository} does not exist (${describeResponse(response)})`);
    }
    ensureOk(response, `listing the tags of ${repository}`);
    const body = json(response, `the tag list of ${repository}`) as { tags?: unknown };
    const next = nextPage(response, http.baseUrl);
    tags.push(...pageTags(body.tags, repository, seen.size === 1 && next === undefined));
    path = next;
  }
  return [...new Set(tags)];
}

/**
 * The tags of one `tags/list` page. Distribution answers `"tags": null` once a repository's last
 * tag is gone, as its only page; anywhere else a page without a list of strings (no `tags` key at
 * all, an `{}` or `{"errors":[]}` from something in between) fails the listing: read as "no
 * tags", it would hide the images behind them, and what they share would look unused.
 */
function pageTags(tags: unknown, repository: string, onlyPage: boolean): string[] {
  if (tags === null && onlyPage) return [];
  if (!Array.isArray(tags)) {
    throw new RegistryReadError(`a page of the tag list of ${repository} has no tags array`);
  }
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag === '') {
      throw new RegistryReadError(
        `the tag list of ${repository} holds an entry that is not a tag: ${JSON.stringify(tag)}`,
      );
    }
  }
  return tags as string[];
}

/**
 * Reads one manifest by tag or digest, checking that its bytes hash to the digest it is
 * listed under. Undefined when the registry does not have it (404).
 */
async function readManifest(
  http: OciHttp,
  repository: string,
  reference: string,
  scope: string,
  options: { readonly required?: boolean } = {},
): Promise<{ digest: string; content: ManifestContent } | undefined> {
  const byDigest = reference.includes(':');
  if (byDigest && !DIGEST.test(reference)) {
    throw new RegistryReadError(
      `${repository} names a manifest by a malformed digest: '${reference.slice(0, 80)}'`,
    );
  }
  const path = `/v2/${repository}/manifests/${byDigest ? reference : encodeURIComponent(reference)}`;
  const response = await http.request(path, { accept: MANIFEST_ACCEPT, scope });
  const what = `manifest ${reference} of ${repository}`;
  if (response.status === 404 && options.required) {
    throw new RegistryReadError(
      `${what} cannot be read (${describeResponse(response)}): gone while listing, or of a type registry-janitor does not read`,
    );
  }
  if (isManifestUnknown(response)) return undefined;
  if (response.status === 404) {
    // Read as "not held", a sighted digest would no longer protect what it runs.
    throw new RegistryReadError(
      `${what} answered 404 without saying the manifest is unknown (${describeResponse(response)}): a proxy or a wrong path in between?`,
    );
  }
  ensureOk(response, `reading ${what}`);
  const digest = byDigest ? reference : sha256Digest(response.body);
  const announced = response.headers.get('docker-content-digest');
  if (!matchesDigest(response.body, digest) || (!byDigest && announced && announced !== digest)) {
    throw new RegistryReadError(
      `${what}: the registry's bytes do not match the digest ${announced ?? digest}`,
    );
  }
  try {
    return {
      digest,
      content: parseManifest(response.body.toString('utf8'), response.headers.get('content-type')),
    };
  } catch (error) {
    throw new RegistryReadError(`${what} (${digest}) cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Digests of the referrers of `entries`, by the referrers API; none when the registry lacks it. */
async function referrersOf(
  context: ListingContext,
  repository: string,
  entries: readonly Entry[],
  scope: string,
): Promise<string[]> {
  let todo = entries;
  const found: string[] = [];
  if (context.referrersApi === undefined && todo.length > 0) {
    // Ask once before asking for every manifest: many registries (Distribution 2.8) have no API.
    found.push(...(await referrersOfOne(context, repository, todo[0]!, scope)));
    todo = todo.slice(1);
  }
  if (context.referrersApi !== true) return found;
  const lists = await Promise.all(todo.map((entry) => referrersOfOne(context, repository, entry, scope)));
  return [...found, ...lists.flat()];
}

async function referrersOfOne(
  context: ListingContext,
  repository: string,
  entry: Entry,
  scope: string,
): Promise<string[]> {
  const digests: string[] = [];
  let path: string | undefined = `/v2/${repository}/referrers/${entry.digest}`;
  const seen = new Set<string>();
  while (path !== undefined) {
    if (seen.has(path)) {
      throw new RegistryReadError(
        `the referrers of ${entry.digest} in ${repository} page in a loop at ${path}`,
      );
    }
    seen.add(path);
    const response = await context.http.request(path, { accept: OCI_INDEX, scope });
    // A registry with the API never answers 404 (distribution-spec 1.1): 404 means it has none
    // (some answer 400, 405 or 501 to a path they do not route).
    if (NO_REFERRERS_API.has(response.status) && context.referrersApi !== true) {
      context.referrersApi = false;
      return [];
    }
    ensureOk(response, `listing the referrers of ${entry.digest} in ${repository}`);
    context.referrersApi = true;
    const body = json(response, `the referrers of ${entry.digest}`) as { manifests?: unknown };
    if (!Array.isArray(body.manifests)) {
      // Read as "none", its referrers would be missed: trust nothing partial.
      throw new RegistryReadError(
        `a page of the referrers of ${entry.digest} in ${repository} has no manifests array`,
      );
    }
    for (const descriptor of body.manifests) {
      const digest = (descriptor as { digest?: unknown }).digest;
      if (typeof digest === 'string') digests.push(digest);
    }
    path = nextPage(response, context.http.baseUrl);
  }
  return digests;
}

/** The `created` of an image config blob (cached by digest); a config that cannot be read fails the listing. */
function readConfigTime(
  context: ListingContext,
  repository: string,
  digest: string,
  scope: string,
): Promise<Date | undefined> {
  const cached = context.configTimes.get(digest);
  if (cached) return cached;
  const pending = (async () => {
    // The digest comes from a manifest: never put anything but a digest into the path.
    if (!DIGEST.test(digest)) {
      throw new RegistryReadError(`a manifest in ${repository} names a config that is not a digest`);
    }
    const response = await context.http.request(`/v2/${repository}/blobs/${digest}`, { scope });
    ensureOk(response, `reading the image config ${digest} in ${repository}`);
    if (!matchesDigest(response.body, digest)) {
      throw new RegistryReadError(`the image config ${digest} in ${repository} does not match its digest`);
    }
    return configCreated(response.body.toString('utf8'));
  })();
  context.configTimes.set(digest, pending);
  pending.catch(() => context.configTimes.delete(digest));
  return pending;
}

function toImage(repository: string, entry: Entry, dated: Dated): RegistryImage {
  const { content } = entry;
  return registryImage({
    repository,
    digest: entry.digest,
    tags: [...entry.tags].sort(),
    pushedAt: dated.pushedAt,
    pushedAtSource: dated.source,
    sizeBytes: dated.sizeBytes,
    mediaType: content.mediaType,
    artifactType: content.artifactType || undefined,
    lastPulledAt: undefined,
    children: content.kind === 'index' ? content.children : undefined,
    subject: content.subject || undefined,
  });
}

/** Throws the right error for a non-2xx answer to a read. */
export function ensureOk(response: OciResponse, doing: string): void {
  if (response.status >= 200 && response.status < 300) return;
  const detail = describeResponse(response);
  if (response.status === 401 || response.status === 403) {
    throw new RegistryAccessError(`access denied ${doing} (${detail})`);
  }
  throw new RegistryReadError(`${doing} failed: ${detail}`);
}

/** The body as a JSON object, or a `RegistryReadError` naming `what`. */
export function json(response: OciResponse, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(response.body.toString('utf8'));
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RegistryReadError(`${what} is not a JSON object`);
}
