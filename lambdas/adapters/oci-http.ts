import pLimit from 'p-limit';
import { cutText } from '../core/plan-summary';
import { RegistryAccessError, RegistryReadError } from './errors';
import type { OciAuthenticator } from './oci-auth';

/** An answer with its body read (bodies of the Distribution API are small JSON documents). */
export interface OciResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  /** The URL that answered (after redirects). */
  readonly url: URL;
}

/** A request without registry authentication (the token endpoint's), with retries. */
export type Exchange = (
  url: URL,
  init: { readonly method: string; readonly headers: Record<string, string>; readonly body?: string },
) => Promise<OciResponse>;

/** Options of {@link OciHttp}. */
export interface OciHttpOptions {
  /** The registry's base URL (`https://host[:port]`). */
  readonly baseUrl: URL;
  /** Requests in flight at once, over every repository. @default 3 */
  readonly concurrency?: number;
  /** Attempts of one request answered 429, 5xx or cut by the network. @default 5 */
  readonly maxAttempts?: number;
  /** First retry delay, doubled each attempt, unless the registry sends `Retry-After`. @default 500 */
  readonly retryBaseMs?: number;
  /** The longest wait between two attempts (also caps `Retry-After`). @default 30000 */
  readonly maxRetryDelayMs?: number;
  /** One attempt's time limit. @default 60000 */
  readonly timeoutMs?: number;
  /** The largest body read. @default 16 MiB */
  readonly maxBodyBytes?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Network errors worth another attempt: the connection broke or stalled, it was not refused. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const MAX_REDIRECTS = 5;

/**
 * HTTP to one registry: at most `concurrency` requests in flight, 429/5xx and broken connections
 * retried with exponential backoff (honouring `Retry-After`), redirects followed by hand so that
 * `Authorization` never leaves the registry's origin (blob downloads redirect to object
 * storage), and the registry's authentication challenges answered through an
 * {@link OciAuthenticator}.
 */
export class OciHttp {
  readonly baseUrl: URL;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private auth: OciAuthenticator | undefined;

  constructor(private readonly options: OciHttpOptions) {
    this.baseUrl = options.baseUrl;
    this.limit = pLimit(options.concurrency ?? 3);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Sets the authenticator (it needs {@link OciHttp.exchange} itself, for its token requests). */
  authenticateWith(auth: OciAuthenticator): void {
    this.auth = auth;
  }

  /**
   * A request to the registry for `scope` (`repository:web:pull`), answering one 401 challenge.
   * The answer may still be an error status: the caller says what it means.
   */
  async request(
    pathAndQuery: string,
    options: { readonly method?: string; readonly accept?: string; readonly scope: string },
  ): Promise<OciResponse> {
    const url = new URL(pathAndQuery, this.baseUrl);
    const method = options.method ?? 'GET';
    const send = async () => {
      const authorization = await this.auth?.header(options.scope);
      const headers: Record<string, string> = {};
      if (options.accept) headers.accept = options.accept;
      if (authorization) headers.authorization = authorization;
      return { response: await this.exchange(url, { method, headers }), sentAuthorization: !!authorization };
    };
    const first = await send();
    if (first.response.status !== 401 || !this.auth) return first.response;
    // Only the registry's own 401 is a challenge: one from where it redirected (object storage,
    // a CDN) could name any realm, and the credentials would go there.
    if (first.response.url.origin !== this.baseUrl.origin) return first.response;
    const header = first.response.headers.get('www-authenticate');
    await this.auth.challenged(header, options.scope, first.sentAuthorization);
    const second = await send();
    if (second.response.status === 401) this.auth.refused(second.response.headers.get('www-authenticate'));
    return second.response;
  }

  /** One request with retries and same-origin-only credentials on redirects; no challenge handling. */
  readonly exchange: Exchange = async (url, init) => {
    const maxAttempts = this.options.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      let response: OciResponse;
      try {
        response = await this.limit(() => this.followRedirects(url, init));
      } catch (error) {
        if (attempt >= maxAttempts || !isTransient(error)) throw this.networkError(url, error);
        await this.sleep(this.backoffMs(attempt));
        continue;
      }
      if (!isRetryable(response.status) || attempt >= maxAttempts) return response;
      await this.sleep(this.backoffMs(attempt, response.headers.get('retry-after')));
    }
  };

  private async followRedirects(start: URL, init: Parameters<Exchange>[1]): Promise<OciResponse> {
    let url = start;
    let headers = init.headers;
    for (let hop = 0; ; hop++) {
      const response = await this.fetch(url, {
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
      const location = response.headers.get('location');
      // Only reads follow redirects: a DELETE sent on would delete whatever the registry points to
      // (a 303 even means "GET this instead"), and a token POST would carry its body elsewhere.
      const follows = init.method === 'GET' || init.method === 'HEAD';
      if (follows && response.status >= 300 && response.status < 400 && location && hop < MAX_REDIRECTS) {
        await response.body?.cancel();
        const next = new URL(location, url);
        if (next.origin !== start.origin) headers = withoutAuthorization(headers);
        url = next;
        continue;
      }
      return {
        status: response.status,
        headers: response.headers,
        body: await this.readBody(response, url),
        url,
      };
    }
  }

  /** Reads a body up to `maxBodyBytes`, stopping as soon as it passes them (chunked bodies too). */
  private async readBody(response: Response, url: URL): Promise<Buffer> {
    const maxBytes = this.options.maxBodyBytes ?? 16 * 1024 * 1024;
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw new RegistryReadError(`${url.pathname} is ${declared} bytes, more than the ${maxBytes} read`);
    }
    if (!response.body) return Buffer.alloc(0);
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw new RegistryReadError(`${url.pathname} is more than the ${maxBytes} bytes read`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks);
  }

  private backoffMs(attempt: number, retryAfter?: string | null): number {
    const cap = this.options.maxRetryDelayMs ?? 30_000;
    const asked = parseRetryAfter(retryAfter ?? null);
    if (asked !== undefined) return Math.min(cap, asked);
    const base = (this.options.retryBaseMs ?? 500) * 2 ** (attempt - 1);
    return Math.min(cap, base * (0.8 + Math.random() * 0.4));
  }

  private networkError(url: URL, error: unknown): Error {
    if (error instanceof RegistryReadError || error instanceof RegistryAccessError) return error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (error as { name?: string }).name ?? 'Error';
    const detail = cause?.message ?? (error instanceof Error ? error.message : String(error));
    const hint = /certificate|self.signed|CERT_/i.test(`${code} ${detail}`)
      ? ' (a registry with its own CA: set NODE_EXTRA_CA_CERTS to the CA file)'
      : '';
    return new RegistryReadError(`cannot reach ${url.host}: ${code}: ${detail}${hint}`, { cause: error });
  }
}

const cut = (text: string, most: number) => (text.length > most ? `${cutText(text, most)}…` : text);

/** The registry's own error, from its `{"errors":[{"code","message"}]}` body, else the status. */
export function registryError(response: OciResponse): { code: string; message: string } {
  try {
    const value = JSON.parse(response.body.toString('utf8')) as {
      errors?: { code?: unknown; message?: unknown }[];
    };
    const first = value.errors?.[0];
    if (first && typeof first.code === 'string') {
      // The registry writes these: a message of any length would travel into every plan and log.
      const message = typeof first.message === 'string' ? first.message : first.code;
      return { code: first.code.slice(0, 100), message: cut(message, 500) };
    }
  } catch {
    // not JSON: fall through
  }
  const text = response.body.toString('utf8').trim().slice(0, 200);
  return { code: `HTTP${response.status}`, message: text === '' ? `status ${response.status}` : text };
}

/**
 * A 404 in which the registry itself says it has no such manifest: the OCI error code
 * `MANIFEST_UNKNOWN` (Distribution, zot) or `NOT_FOUND` (Harbor). A 404 without it (a proxy's
 * page, a wrong path) proves nothing about the manifest.
 */
export function isManifestUnknown(response: OciResponse): boolean {
  if (response.status !== 404) return false;
  const { code } = registryError(response);
  return code === 'MANIFEST_UNKNOWN' || code === 'NOT_FOUND';
}

/** A 404 the registry explains as a repository it does not know (`NAME_UNKNOWN`). */
export function isNameUnknown(response: OciResponse): boolean {
  return response.status === 404 && registryError(response).code === 'NAME_UNKNOWN';
}

/** `status CODE: message`, for error messages. */
export function describeResponse(response: OciResponse): string {
  const { code, message } = registryError(response);
  return `${response.status} ${code}: ${message}`;
}

/**
 * The next page named by a `Link: <...>; rel="next"` header, resolved against the registry; a
 * link that leaves the registry's origin is refused (credentials would follow it).
 */
export function nextPage(response: OciResponse, baseUrl: URL): string | undefined {
  const header = response.headers.get('link');
  if (!header) return undefined;
  for (const link of linkValues(header)) {
    const relations = (link.parameters.get('rel') ?? '').toLowerCase().split(/\s+/);
    if (!relations.includes('next')) continue;
    const next = new URL(link.target, response.url);
    if (next.origin !== baseUrl.origin) {
      throw new RegistryReadError(`the registry's next page link leaves ${baseUrl.host}: ${next.origin}`);
    }
    return `${next.pathname}${next.search}`;
  }
  return undefined;
}

/**
 * The link-values of a `Link` header (RFC 8288): `<target>; name=value; name="quoted value", ...`,
 * parameters in any order, a quoted value free to hold `<`, `,` or `;`. Parameter names in lower case.
 */
export function linkValues(header: string): { target: string; parameters: Map<string, string> }[] {
  const links: { target: string; parameters: Map<string, string> }[] = [];
  const token = /\s*(?:<([^>]*)>|;\s*([^\s=;,]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;,]*)))?|,|(.))/gy;
  let current: { target: string; parameters: Map<string, string> } | undefined;
  for (let match = token.exec(header); match !== null && match[0] !== ''; match = token.exec(header)) {
    const [, target, name, quoted, plain, other] = match;
    if (target !== undefined) {
      current = { target, parameters: new Map() };
      links.push(current);
    } else if (name !== undefined && current && !current.parameters.has(name.toLowerCase())) {
      current.parameters.set(name.toLowerCase(), quoted?.replace(/\\(.)/g, '$1') ?? plain ?? '');
    } else if (other !== undefined) {
      // Not part of a link-value: what follows belongs to no link until the next `<`.
      current = undefined;
    }
  }
  return links;
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function isRetryable(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

function isTransient(error: unknown): boolean {
  if (error instanceof RegistryReadError) return false;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return true;
  const code = (error as { cause?: { code?: string } }).cause?.code;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  const { authorization: _dropped, ...rest } = headers;
  return rest;
}
