import type { RegistryImage } from '../core/model';
import type { DeleteResult, Progress, Registry } from '../core/ports';
import { RegistryAccessError, RegistryReadError } from './errors';
import { OciAuthenticator } from './oci-auth';
import type { CredentialLookup } from './oci-credentials';
import {
  describeResponse,
  isManifestUnknown,
  nextPage,
  OciHttp,
  type OciHttpOptions,
  registryError,
} from './oci-http';
import { currentTagsOf, ensureOk, json, type ListingContext, listRepository } from './oci-listing';

const MAX_DELETE = 100;
/** OCI distribution-spec repository names: path components of lowercase alphanumerics and separators. */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Options of {@link OciRegistry}. */
export interface OciRegistryOptions extends Omit<OciHttpOptions, 'baseUrl'>, CredentialLookup {
  /** `https://host[:port]`, or `http://` for a registry without TLS. */
  readonly url: URL;
  /** `n` of `_catalog` and `tags/list` pages (registries may cap it; `Link` headers are followed). @default 100 */
  readonly pageSize?: number;
}

/**
 * Any registry that speaks the OCI Distribution API (CNCF Distribution, Harbor, zot, …) over
 * Node's fetch: `_catalog` and `tags/list` followed through `Link` pages, manifests read with
 * explicit `Accept` headers, referrers from the referrers API or the `sha256-<hex>` fallback
 * tags, push times from image configs' `created`, deletion by digest. At most 3 requests in
 * flight; 429/5xx retried with backoff.
 *
 * @example
 * const registry = new OciRegistry({ url: new URL('https://registry.example.com'), ...lookupCredentials('registry.example.com', process.env) });
 * await registry.listImages('web');
 */
export class OciRegistry implements Registry {
  /** `host[:port]`, as in `Total images in web (registry.example.com:5000): 12`. */
  readonly label: string;
  /** The API lists tags: an untagged manifest that no tag reaches is invisible. */
  readonly listsEveryManifest = false;
  private readonly http: OciHttp;
  private readonly context: ListingContext;
  private readonly pageSize: number;

  constructor(options: OciRegistryOptions) {
    const { url, credentials, note, pageSize, ...http } = options;
    this.label = url.host;
    this.http = new OciHttp({ ...http, baseUrl: url });
    this.http.authenticateWith(
      new OciAuthenticator({
        host: url.host,
        secure: url.protocol === 'https:',
        exchange: this.http.exchange,
        ...(credentials ? { credentials } : {}),
        ...(note ? { note } : {}),
      }),
    );
    this.pageSize = pageSize ?? 100;
    this.context = {
      http: this.http,
      configTimes: new Map(),
      pageSize: this.pageSize,
      catalogued: new Set(),
    };
  }

  /** The URL's `host[:port]`, and with the scheme's default port spelt out when it has none. */
  async hosts(): Promise<readonly string[]> {
    const { host, hostname, port, protocol } = this.http.baseUrl;
    if (port !== '') return [host.toLowerCase()];
    const defaultPort = protocol === 'https:' ? 443 : 80;
    return [host.toLowerCase(), `${hostname.toLowerCase()}:${defaultPort}`];
  }

  /** Every repository of `_catalog`, page by page; a clear error when the registry does not allow it. */
  async listRepositories(): Promise<readonly string[]> {
    const names: string[] = [];
    let path: string | undefined = `/v2/_catalog?n=${this.pageSize}`;
    const seen = new Set<string>();
    while (path !== undefined) {
      if (seen.has(path))
        throw new RegistryReadError(`the catalog of ${this.label} pages in a loop at ${path}`);
      seen.add(path);
      const response = await this.http.request(path, { scope: 'registry:catalog:*' });
      if ([401, 403, 404, 405].includes(response.status)) {
        throw new RegistryAccessError(
          `${this.label} does not let registry-janitor list its repositories (GET /v2/_catalog answered ${describeResponse(response)}): name them with --repo`,
        );
      }
      ensureOk(response, `listing the repositories of ${this.label}`);
      const body = json(response, `the catalog of ${this.label}`);
      if (!Array.isArray(body.repositories)) {
        throw new RegistryReadError(`the catalog of ${this.label} has no repositories array`);
      }
      for (const name of body.repositories) if (typeof name === 'string') names.push(name);
      path = nextPage(response, this.http.baseUrl);
    }
    for (const name of names) this.context.catalogued.add(name);
    return [...new Set(names)].sort();
  }

  async listImages(
    repository: string,
    onProgress?: (progress: Progress) => void,
    sightedDigests: readonly string[] = [],
  ): Promise<readonly RegistryImage[]> {
    checkRepositoryName(repository);
    return listRepository(this.context, repository, onProgress, sightedDigests);
  }

  /**
   * The tags `digests` carry now (`gc` reads them just before deleting): every tag listed again and
   * resolved, one HEAD each, since the API cannot ask a manifest for its tags (`currentTagsOf`).
   */
  async currentTags(
    repository: string,
    digests: readonly string[],
  ): Promise<ReadonlyMap<string, readonly string[]>> {
    checkRepositoryName(repository);
    return currentTagsOf(this.context, repository, digests);
  }

  /**
   * Deletes manifests one `DELETE /v2/<name>/manifests/<digest>` each (a few at a time): 202 (any
   * 2xx) deleted, 404 already gone, anything else failed with the registry's error code and
   * message. On Distribution the manifest's tags go with it; its blobs stay until
   * `docker-registry garbage-collect` runs.
   */
  async deleteImages(repository: string, digests: readonly string[]): Promise<readonly DeleteResult[]> {
    if (digests.length > MAX_DELETE) throw new RangeError(`at most ${MAX_DELETE} images per request`);
    checkRepositoryName(repository);
    return Promise.all(digests.map((digest) => this.deleteOne(repository, digest)));
  }

  private async deleteOne(repository: string, digest: string): Promise<DeleteResult> {
    if (!DIGEST.test(digest))
      return { digest, status: 'failed', code: 'DIGEST_INVALID', message: 'not a digest' };
    try {
      const response = await this.http.request(`/v2/${repository}/manifests/${digest}`, {
        method: 'DELETE',
        scope: `repository:${repository}:delete`,
      });
      if (response.status >= 200 && response.status < 300) return { digest, status: 'deleted' };
      const { code, message } = registryError(response);
      // Gone only when the registry says so: a proxy's or a wrong path's 404 is not proof, and a
      // "gone" index lets its children be deleted.
      if (isManifestUnknown(response)) return { digest, status: 'gone' };
      const hint =
        response.status === 405
          ? ' (the registry does not allow deletion: on Distribution set storage.delete.enabled: true)'
          : '';
      return { digest, status: 'failed', code, message: `${message}${hint}` };
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      return {
        digest,
        status: 'failed',
        code: name,
        message: error instanceof Error ? error.message : String(error),
      };
    }
  }
}

function checkRepositoryName(repository: string): void {
  if (!REPOSITORY_NAME.test(repository)) {
    throw new RegistryReadError(
      `'${repository}' is not a valid repository name (lowercase, digits, . _ - and /)`,
    );
  }
}
