import { homedir } from 'node:os';
import { OciAuthenticator, parseChallenges } from '../../lambdas/adapters/oci-auth';
import { lookupCredentials } from '../../lambdas/adapters/oci-credentials';
import {
  nextPage,
  OciHttp,
  type OciResponse,
  parseRetryAfter,
  registryError,
} from '../../lambdas/adapters/oci-http';
import { UsageError } from '../../lambdas/core/errors';
import { parseRegistryUrl } from '../../lambdas/handlers/gc-registry';

const BASE = new URL('https://registry.example.com/');

/** A fetch that answers from a script, one entry per call, and records what it was asked. */
function scriptedFetch(script: readonly (Response | Error)[]) {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  let i = 0;
  const fetch = (async (url: URL | string, init?: RequestInit) => {
    calls.push({ url: String(url), headers: { ...(init?.headers as Record<string, string>) } });
    const next = script[i++];
    if (next === undefined) throw new Error('script exhausted');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function networkError(code: string): Error {
  return Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
}

function httpWith(script: readonly (Response | Error)[]) {
  const { fetch, calls } = scriptedFetch(script);
  const sleeps: number[] = [];
  const http = new OciHttp({
    baseUrl: BASE,
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { http, calls, sleeps };
}

describe('OciHttp retries', () => {
  it('waits as long as Retry-After says after a 429, then succeeds', async () => {
    const { http, sleeps } = httpWith([
      new Response('', { status: 429, headers: { 'retry-after': '2' } }),
      new Response('{}', { status: 200 }),
    ]);

    const response = await http.request('/v2/', { scope: 'x' });

    expect(response.status).toBe(200);
    expect(sleeps).toEqual([2000]);
  });

  it('backs off exponentially on 5xx and gives the last answer after 5 attempts', async () => {
    const { http, calls, sleeps } = httpWith(
      Array.from({ length: 5 }, () => new Response('', { status: 503 })),
    );

    const response = await http.request('/v2/', { scope: 'x' });

    expect(response.status).toBe(503);
    expect(calls).toHaveLength(5);
    expect(sleeps).toHaveLength(4);
    for (const [i, ms] of sleeps.entries()) {
      expect(ms).toBeGreaterThanOrEqual(500 * 2 ** i * 0.8);
      expect(ms).toBeLessThanOrEqual(500 * 2 ** i * 1.2);
    }
  });

  it('retries a connection that was reset, not one that was refused', async () => {
    const reset = httpWith([networkError('ECONNRESET'), new Response('{}', { status: 200 })]);
    const refused = httpWith([networkError('ECONNREFUSED')]);

    await expect(reset.http.request('/v2/', { scope: 'x' })).resolves.toMatchObject({ status: 200 });
    await expect(refused.http.request('/v2/', { scope: 'x' })).rejects.toThrow(
      'cannot reach registry.example.com: ECONNREFUSED',
    );
    expect(refused.calls).toHaveLength(1);
  });

  it('never sends Authorization to another origin on a redirect (blob storage)', async () => {
    // Prepare
    const { fetch, calls } = scriptedFetch([
      new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } }),
      new Response('', { status: 307, headers: { location: 'https://bucket.s3.example.com/blob?sig=1' } }),
      new Response('config', { status: 200 }),
    ]);
    const http = new OciHttp({ baseUrl: BASE, fetch });
    http.authenticateWith(
      new OciAuthenticator({
        host: BASE.host,
        exchange: http.exchange,
        credentials: { kind: 'password', username: 'u', password: 'p', source: 'test' },
      }),
    );

    // Act
    const response = await http.request('/v2/web/blobs/sha256:abc', { scope: 'repository:web:pull' });

    // Assess
    expect(response.body.toString()).toBe('config');
    expect(calls[1]!.headers.authorization).toMatch(/^Basic /);
    expect(calls[2]!.url).toBe('https://bucket.s3.example.com/blob?sig=1');
    expect(calls[2]!.headers.authorization).toBeUndefined();
  });
});

describe('the pieces of the Distribution protocol', () => {
  it.each([
    ['5', 5000],
    ['Wed, 21 Oct 2026 07:28:05 GMT', 5000],
    ['soon', undefined],
  ])('reads Retry-After %s', (value, ms) => {
    expect(parseRetryAfter(value, Date.parse('Wed, 21 Oct 2026 07:28:00 GMT'))).toBe(ms);
  });

  it('follows a relative Link to the next page, and refuses one that leaves the registry', () => {
    const page = (link: string): OciResponse => ({
      status: 200,
      headers: new Headers({ link }),
      body: Buffer.from('{}'),
      url: new URL('https://registry.example.com/v2/_catalog?n=2'),
    });

    expect(nextPage(page('</v2/_catalog?last=b&n=2>; rel="next"'), BASE)).toBe('/v2/_catalog?last=b&n=2');
    // RFC 8288: parameters in any order, rel unquoted or a list, several link-values.
    for (const link of [
      '</v2/_catalog?last=b&n=2>; type="application/json"; rel="next"',
      '</v2/_catalog?last=b&n=2>;rel=next',
      '</v2/_catalog?last=b&n=2>; rel="next last"',
      '</v2/_catalog?n=2>; rel="prev", </v2/_catalog?last=b&n=2>; rel="next"',
    ]) {
      expect([link, nextPage(page(link), BASE)]).toEqual([link, '/v2/_catalog?last=b&n=2']);
    }
    expect(nextPage(page('</v2/_catalog?n=2>; rel="prev"'), BASE)).toBeUndefined();
    // A quoted parameter may hold '<', ',' or ';'.
    expect(nextPage(page('</v2/_catalog?last=b&n=2>; title="<x>, ;"; rel="next"'), BASE)).toBe(
      '/v2/_catalog?last=b&n=2',
    );
    expect(nextPage(page('</v2/_catalog?n=2>; title="next"'), BASE)).toBeUndefined();
    expect(() => nextPage(page('<https://evil.example.com/v2/_catalog>; rel="next"'), BASE)).toThrow(
      /leaves/,
    );
  });

  it("cuts a registry's error message: it travels into plans and logs", () => {
    const answer: OciResponse = {
      status: 403,
      headers: new Headers(),
      body: Buffer.from(JSON.stringify({ errors: [{ code: 'DENIED', message: 'x'.repeat(450_000) }] })),
      url: new URL('https://registry.example.com/v2/web/tags/list'),
    };
    const { code, message } = registryError(answer);
    expect(code).toBe('DENIED');
    expect(message).toHaveLength(501);
  });

  it('parses bearer challenges with commas inside quoted scopes', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example.com/token",service="registry",scope="repository:web:pull,push",error="insufficient_scope"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example.com/token',
          service: 'registry',
          scope: 'repository:web:pull,push',
          error: 'insufficient_scope',
        },
      },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
  });

  it.each([
    ['registry.example.com:5000', 'https://registry.example.com:5000/'],
    ['http://127.0.0.1:5000', 'http://127.0.0.1:5000/'],
    ['https://ghcr.io/v2/', 'https://ghcr.io/'],
  ])('reads --registry %s as %s (TLS unless http:// is written)', (value, href) => {
    expect(parseRegistryUrl(value).href).toBe(href);
  });

  it('refuses a --registry URL with credentials, without echoing them', () => {
    expect(() => parseRegistryUrl('https://me:hunter2@registry.example.com/x')).toThrow(UsageError);
    expect(() => parseRegistryUrl('https://me:hunter2@registry.example.com/x')).not.toThrow(/hunter2/);
  });
});

describe('registry credentials', () => {
  const files = (config: unknown) => () => JSON.stringify(config);

  it('reads an identity token, and base64 user:pass whose password has a colon', () => {
    const host = 'registry.example.com';
    const config = {
      auths: {
        'https://registry.example.com': { identitytoken: 'refresh-me' },
        'other.example.com': { auth: Buffer.from('bot:pa:ss').toString('base64') },
      },
    };

    expect(lookupCredentials(host, { DOCKER_CONFIG: '/cfg' }, files(config)).credentials).toEqual({
      kind: 'identity-token',
      identityToken: 'refresh-me',
      source: '/cfg/config.json auths["https://registry.example.com"]',
    });
    expect(
      lookupCredentials('other.example.com', { DOCKER_CONFIG: '/cfg' }, files(config)).credentials,
    ).toMatchObject({ username: 'bot', password: 'pa:ss' });
  });

  it.each([
    [{ DOCKER_CONFIG: '', HOME: '/home/ci' }, '/home/ci/.docker/config.json'],
    [{ DOCKER_CONFIG: '', HOME: '' }, `${homedir()}/.docker/config.json`],
    [{ DOCKER_CONFIG: '/cfg', HOME: '/home/ci' }, '/cfg/config.json'],
  ])('reads an empty variable as unset, as docker does: %j reads %s', (env, path) => {
    // Prepare
    const read: string[] = [];
    const readText = (file: string) => {
      read.push(file);
      return JSON.stringify({ auths: { h: { auth: Buffer.from('bot:pw').toString('base64') } } });
    };

    // Act
    const found = lookupCredentials('h', env, readText);

    // Assess
    expect(read).toEqual([path]);
    expect(found.credentials).toMatchObject({ username: 'bot', password: 'pw' });
  });

  it('is anonymous without a config file, and a usage error with a broken one or half the variables', () => {
    const missing = () => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    };

    expect(lookupCredentials('h', { HOME: '/nowhere' }, missing)).toEqual({});
    expect(() => lookupCredentials('h', { DOCKER_CONFIG: '/cfg' }, () => '{')).toThrow(UsageError);
    expect(() => lookupCredentials('h', { REGISTRY_USERNAME: 'me' })).toThrow(/both REGISTRY_USERNAME/);
  });
});
