import { RegistryAccessError, RegistryReadError } from '../../lambdas/adapters/errors';
import { OciAuthenticator } from '../../lambdas/adapters/oci-auth';
import { OciHttp } from '../../lambdas/adapters/oci-http';
import { OciRegistry } from '../../lambdas/adapters/oci-registry';

/**
 * What a registry (or what it redirects to) can answer that must not cost credentials, delete
 * what was not planned, or exhaust memory. Each fake fetch answers from a function of the request.
 */
interface Call {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
  readonly body?: string;
}

function fakeFetch(answer: (call: Call) => Response) {
  const calls: Call[] = [];
  const fetch = (async (input: URL | string, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call: Call = {
      method: init?.method ?? 'GET',
      url: String(input),
      ...(headers.authorization ? { authorization: headers.authorization } : {}),
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
    };
    calls.push(call);
    return answer(call);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const PASSWORD = { kind: 'password', username: 'alice', password: 's3cret', source: 'test' } as const;
const DIGEST = `sha256:${'a'.repeat(64)}`;
const challenge = (realm: string, scope = 'repository:x:pull') => ({
  status: 401,
  headers: { 'www-authenticate': `Bearer realm="${realm}",service="registry",scope="${scope}"` },
});

function httpWith(base: string, fetch: typeof globalThis.fetch, credentials = PASSWORD) {
  const baseUrl = new URL(base);
  const http = new OciHttp({ baseUrl, fetch, maxAttempts: 1 });
  http.authenticateWith(
    new OciAuthenticator({
      host: baseUrl.host,
      secure: baseUrl.protocol === 'https:',
      exchange: http.exchange,
      credentials,
    }),
  );
  return http;
}

describe('OCI credentials stay with the registry', () => {
  it('does not answer a 401 from where the registry redirected (it could name any realm)', async () => {
    const { fetch, calls } = fakeFetch(({ url }) => {
      if (url.startsWith('https://registry.example/'))
        return new Response('', { status: 307, headers: { location: 'https://storage.example/blob' } });
      return new Response('', challenge('https://evil.example/token'));
    });
    const response = await httpWith('https://registry.example/', fetch).request(`/v2/x/blobs/${DIGEST}`, {
      scope: 'repository:x:pull',
    });
    expect(response.status).toBe(401);
    expect(calls.map((call) => call.url)).toEqual([
      `https://registry.example/v2/x/blobs/${DIGEST}`,
      'https://storage.example/blob',
    ]);
    expect(calls.some((call) => call.authorization !== undefined)).toBe(false);
  });

  it('refuses a token realm over plain http for an https registry, sending nothing there', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('', challenge('http://auth.example/token')));
    const reading = httpWith('https://registry.example/', fetch).request('/v2/x/tags/list', {
      scope: 'repository:x:pull',
    });
    await expect(reading).rejects.toThrow(RegistryAccessError);
    await expect(reading).rejects.toThrow('a token realm over plain http (auth.example)');
    expect(calls.filter((call) => call.url.startsWith('http://'))).toEqual([]);
  });

  it('does not carry a token request (an identity token in its body) through a redirect', async () => {
    const { fetch, calls } = fakeFetch(({ url }) => {
      if (url.startsWith('https://registry.example/'))
        return new Response('', challenge('https://auth.example/token'));
      if (url.startsWith('https://auth.example/'))
        return new Response('', { status: 307, headers: { location: 'https://elsewhere.example/collect' } });
      return new Response('{"token":"t"}', { status: 200 });
    });
    const identity = { kind: 'identity-token', identityToken: 'REFRESH-SECRET', source: 'test' } as const;
    const reading = httpWith('https://registry.example/', fetch, identity as never).request(
      '/v2/x/tags/list',
      {
        scope: 'repository:x:pull',
      },
    );
    await expect(reading).rejects.toThrow(RegistryReadError);
    expect(calls.map((call) => call.url)).not.toContain('https://elsewhere.example/collect');
  });

  it('asks the token service for the scope the request needs, not a wider one the challenge names', async () => {
    const { fetch, calls } = fakeFetch(({ url, authorization }) => {
      if (url.startsWith('https://auth.example/')) return new Response('{"token":"t"}', { status: 200 });
      if (authorization === 'Bearer t') return new Response('{"tags":[]}', { status: 200 });
      return new Response('', challenge('https://auth.example/token', 'repository:x:pull,push,delete'));
    });
    await httpWith('https://registry.example/', fetch).request('/v2/x/tags/list', {
      scope: 'repository:x:pull',
    });
    const token = calls.find((call) => call.url.startsWith('https://auth.example/'))!;
    expect(new URL(token.url).searchParams.getAll('scope')).toEqual(['repository:x:pull']);
  });
});

describe('OCI deletions delete what was planned, or say they did not', () => {
  function registryAnswering(answer: (call: Call) => Response) {
    const { fetch, calls } = fakeFetch(answer);
    return {
      registry: new OciRegistry({ url: new URL('https://registry.example'), fetch, maxAttempts: 1 }),
      calls,
    };
  }

  it.each([
    ['a 303 to another manifest', 303, 'https://registry.example/v2/x/manifests/sha256:bbbb'],
    ['a 307 to another host', 307, 'https://other.example/v2/x/manifests/x'],
  ])('does not follow %s: the image is not deleted, and nothing else is', async (_name, status, location) => {
    const { registry, calls } = registryAnswering(() => new Response('', { status, headers: { location } }));
    const [result] = await registry.deleteImages('x', [DIGEST]);
    expect(result).toMatchObject({ digest: DIGEST, status: 'failed' });
    expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual([
      `DELETE https://registry.example/v2/x/manifests/${DIGEST}`,
    ]);
  });

  it('takes a 404 as already gone only when the registry says MANIFEST_UNKNOWN', async () => {
    const unknown = registryAnswering(
      () =>
        new Response('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', {
          status: 404,
        }),
    );
    const proxy = registryAnswering(() => new Response('<html>404 Not Found</html>', { status: 404 }));
    expect(await unknown.registry.deleteImages('x', [DIGEST])).toEqual([{ digest: DIGEST, status: 'gone' }]);
    expect(await proxy.registry.deleteImages('x', [DIGEST])).toEqual([
      expect.objectContaining({ digest: DIGEST, status: 'failed' }),
    ]);
  });
});

describe('OCI answers are read within their limit', () => {
  it('stops reading a chunked body as soon as it passes maxBodyBytes', async () => {
    // 64 MiB, a megabyte at a time (a reader that does not stop still ends, and fails below).
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setImmediate(resolve));
        if (sent >= 64 * 1024 * 1024) {
          controller.close();
          return;
        }
        sent += 1024 * 1024;
        controller.enqueue(new Uint8Array(1024 * 1024));
      },
    });
    const { fetch } = fakeFetch(() => new Response(endless, { status: 200 }));
    const http = new OciHttp({
      baseUrl: new URL('https://registry.example/'),
      fetch,
      maxBodyBytes: 4 * 1024 * 1024,
    });
    await expect(http.request('/v2/x/tags/list', { scope: 'repository:x:pull' })).rejects.toThrow(
      'is more than the 4194304 bytes read',
    );
    expect(sent).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
