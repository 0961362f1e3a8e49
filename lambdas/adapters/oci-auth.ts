import { RegistryAccessError, RegistryReadError } from './errors';
import type { RegistryCredentials } from './oci-credentials';
import type { Exchange } from './oci-http';

/** One `WWW-Authenticate` challenge: its scheme and parameters (`realm`, `service`, `scope`, `error`). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235), which may hold several challenges; quoted
 * values may contain commas (`scope="repository:web:pull,push"`).
 *
 * @example
 * parseChallenges('Bearer realm="https://auth.example.com/token",service="registry"')
 * // [{ scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry' } }]
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  const token = /\s*,?\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?/y;
  let match = token.exec(header);
  while (match !== null && match[0] !== '') {
    const [, name = '', raw] = match;
    if (raw === undefined) challenges.push({ scheme: name.toLowerCase(), params: {} });
    else {
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      const current = challenges[challenges.length - 1];
      if (current) current.params[name.toLowerCase()] = value;
    }
    match = token.exec(header);
  }
  return challenges;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

/** Options of {@link OciAuthenticator}. */
export interface OciAuthenticatorOptions {
  /** `host[:port]` of the registry, for messages. */
  readonly host: string;
  /** The registry is reached over https: a token realm over plain http is refused. @default true */
  readonly secure?: boolean;
  readonly credentials?: RegistryCredentials;
  /** Appended to "credentials required" messages (e.g. a credential helper that is not run). */
  readonly note?: string;
  /** Sends a request without authentication (the token endpoint's). */
  readonly exchange: Exchange;
  /** @default Date.now */
  readonly nowMs?: () => number;
}

const TOKEN_REFRESH_MARGIN_MS = 10_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * What a registry wants in `Authorization`, learnt from its challenges: nothing until the first
 * 401, then Basic credentials, or bearer tokens from the challenge's realm (one per scope,
 * cached until shortly before they expire). Credentials only ever go to the registry and to its
 * token realm.
 */
export class OciAuthenticator {
  private scheme: 'none' | 'basic' | 'bearer' = 'none';
  private bearer: { readonly realm: URL; readonly service?: string } | undefined;
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private readonly nowMs: () => number;

  constructor(private readonly options: OciAuthenticatorOptions) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** The `Authorization` header for a request that needs `scope`, once the registry has asked for one. */
  async header(scope: string): Promise<string | undefined> {
    if (this.scheme === 'basic') return this.basic();
    if (this.scheme !== 'bearer') return undefined;
    const cached = this.tokens.get(scope);
    if (cached) {
      const token = await cached;
      if (token.expiresAtMs - TOKEN_REFRESH_MARGIN_MS > this.nowMs()) return `Bearer ${token.token}`;
    }
    return `Bearer ${(await this.fetchToken(scope, [scope])).token}`;
  }

  /**
   * Learns from a 401 answer to a request for `scope`. Throws `RegistryAccessError` when the
   * registry wants credentials that are missing, or refused the ones sent with Basic.
   */
  async challenged(header: string | null, scope: string, sentAuthorization: boolean): Promise<void> {
    const challenges = parseChallenges(header ?? '');
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
    const basic = challenges.find((challenge) => challenge.scheme === 'basic');
    if (bearer?.params.realm) {
      this.scheme = 'bearer';
      this.bearer = {
        realm: this.realmUrl(bearer.params.realm),
        ...optional('service', bearer.params.service),
      };
      // The scope the request needs, whatever the challenge names: a read (a dry run) never asks
      // for a token that could delete.
      await this.fetchToken(scope, [scope]);
      return;
    }
    if (basic) {
      const credentials = this.options.credentials;
      if (credentials?.kind !== 'password') throw this.credentialsRequired('Basic');
      if (sentAuthorization && this.scheme === 'basic') {
        throw new RegistryAccessError(
          `${this.options.host} refused the credentials from ${credentials.source}`,
        );
      }
      this.scheme = 'basic';
      return;
    }
    throw new RegistryAccessError(
      `${this.options.host} answered 401 with a challenge registry-janitor cannot answer: '${header ?? ''}'`,
    );
  }

  /**
   * Called when a request was refused again after its challenge was answered: throws for Basic
   * (the credentials are wrong). A bearer token may just lack the scope: the caller decides.
   */
  refused(header: string | null): void {
    const credentials = this.options.credentials;
    if (this.scheme !== 'basic' || credentials === undefined) return;
    const challenge = parseChallenges(header ?? '').find((c) => c.scheme === 'basic');
    if (challenge)
      throw new RegistryAccessError(
        `${this.options.host} refused the credentials from ${credentials.source}`,
      );
  }

  private basic(): string | undefined {
    const credentials = this.options.credentials;
    if (credentials?.kind !== 'password') return undefined;
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  /** Fetches a token for `scopes` and caches it under `key` (concurrent callers share one request). */
  private fetchToken(key: string, scopes: readonly string[]): Promise<CachedToken> {
    const pending = this.requestToken(scopes);
    this.tokens.set(key, pending);
    pending.catch(() => {
      if (this.tokens.get(key) === pending) this.tokens.delete(key);
    });
    return pending;
  }

  private async requestToken(scopes: readonly string[]): Promise<CachedToken> {
    const { realm, service } = this.bearer!;
    const url = new URL(realm);
    const credentials = this.options.credentials;
    const headers: Record<string, string> = { accept: 'application/json' };
    let init: { method: string; headers: Record<string, string>; body?: string };
    if (credentials?.kind === 'identity-token') {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'registry-janitor',
      });
      if (service) form.set('service', service);
      for (const scope of scopes) form.append('scope', scope);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      init = { method: 'POST', headers, body: form.toString() };
    } else {
      if (service) url.searchParams.set('service', service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      const basic = this.basic();
      if (basic) headers.authorization = basic;
      init = { method: 'GET', headers };
    }
    const response = await this.options.exchange(url, init);
    if (response.status === 401 || response.status === 403) {
      throw credentials
        ? new RegistryAccessError(
            `the token service of ${this.options.host} (${url.host}) refused the credentials from ${credentials.source}`,
          )
        : this.credentialsRequired('Bearer');
    }
    if (response.status !== 200) {
      throw new RegistryReadError(
        `the token service of ${this.options.host} (${url.host}) answered ${response.status} for ${scopes.join(' ')}`,
      );
    }
    return this.parseToken(response.body, url.host);
  }

  private parseToken(body: Buffer, realmHost: string): CachedToken {
    let value: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new RegistryReadError(`the token service ${realmHost} answered something that is not JSON`, {
        cause: error,
      });
    }
    const token = typeof value.token === 'string' ? value.token : value.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryReadError(`the token service ${realmHost} answered without a token`);
    }
    const lifetime = typeof value.expires_in === 'number' ? value.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    return { token, expiresAtMs: this.nowMs() + lifetime * 1000 };
  }

  private realmUrl(realm: string): URL {
    let url: URL | undefined;
    try {
      url = new URL(realm);
    } catch {
      url = undefined;
    }
    if (url?.protocol === 'https:' || (url?.protocol === 'http:' && this.options.secure === false))
      return url;
    if (url?.protocol === 'http:') {
      throw new RegistryAccessError(
        `${this.options.host} named a token realm over plain http (${url.host}): credentials are not sent unencrypted`,
      );
    }
    throw new RegistryReadError(
      `${this.options.host} named a token realm that is not an http(s) URL: ${realm}`,
    );
  }

  private credentialsRequired(scheme: string): RegistryAccessError {
    const note = this.options.note ? `; ${this.options.note}` : '';
    const which =
      this.options.credentials?.kind === 'identity-token'
        ? `an identity token (from ${this.options.credentials.source}) only works with bearer tokens`
        : 'no credentials were found';
    return new RegistryAccessError(
      `${this.options.host} requires credentials (${scheme}) and ${which}: set REGISTRY_USERNAME and REGISTRY_PASSWORD, or log in with docker login${note}`,
    );
  }
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}
