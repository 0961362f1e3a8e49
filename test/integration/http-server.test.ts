import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { MAX_READ_BYTES, startHttpServer } from '../../lambdas/local/http-server';

describe('the local HTTP server of serve', () => {
  const page = '<p>a review page</p>'.repeat(100);
  let server: Awaited<ReturnType<typeof startHttpServer>>;

  beforeAll(async () => {
    server = await startHttpServer([
      {
        method: 'GET',
        path: '/v1/plans/{id}',
        handle: async (event) => ({
          statusCode: 200,
          headers: {
            'content-type': 'text/html',
            'content-encoding': 'gzip',
            'x-plan': event.pathParameters?.id ?? '',
          },
          body: gzipSync(page).toString('base64'),
          isBase64Encoded: true,
        }),
      },
      {
        method: 'GET',
        path: '/v1/broken/{id}',
        handle: async () => {
          throw new Error('the store is down');
        },
      },
      {
        method: 'POST',
        path: '/v1/echo',
        handle: async (event) => {
          received.push(Buffer.from(event.body ?? '', 'base64').length);
          return { statusCode: 200, headers: {}, body: String(received.at(-1)) };
        },
      },
    ]);
  });
  afterAll(() => server.close());
  const received: number[] = [];

  /** POSTs `size` bytes in 64 KiB writes; resolves with the status and body of the answer. */
  const post = (size: number) =>
    new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const call = request(new URL('/v1/echo', server.url), { method: 'POST' }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body, headers: response.headers }),
        );
      });
      call.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const write = () => {
        while (sent < size) {
          const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
          sent += part.length;
          if (!call.write(part)) return void call.once('drain', write);
        }
        call.end();
      };
      write();
    });

  /** The raw answer: status, headers and body bytes, nothing decoded. */
  const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const call = request(new URL(path, server.url), { method, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
      });
      call.on('error', reject);
      call.end();
    });

  it('sends a base64 answer as its bytes, as API Gateway does', async () => {
    const answer = await raw('GET', '/v1/plans/p-1');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(answer.headers['x-plan']).toBe('p-1');
    expect(answer.body.equals(gzipSync(page))).toBe(true);
  });

  it('hands over the path parameters decoded, and answers 400 to a path that cannot be decoded', async () => {
    expect((await raw('GET', '/v1/plans/p%201')).headers['x-plan']).toBe('p 1');
    for (const path of ['/v1/plans/%E0%A4%A', '/v1/plans/%']) {
      const answer = await raw('GET', path);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body.toString('utf8'))).toEqual({
        message: 'the path is not valid percent-encoding',
      });
    }
  });

  it('bound to loopback, refuses a request addressed to another name (DNS rebinding)', async () => {
    const port = new URL(server.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect((await raw('GET', '/v1/plans/p-1', { host })).status).toBe(200);
    }
    const rebound = await raw('GET', '/v1/plans/p-1', { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body.toString('utf8')).message).toContain('addressed to localhost');
  });

  it("refuses a POST a browser marks as cross-site, and takes its own pages' and clients without the header", async () => {
    for (const site of ['cross-site', 'same-site']) {
      const refused = await raw('POST', '/v1/scans', { 'sec-fetch-site': site });
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body.toString('utf8')).message).toBe('cross-site request refused');
    }
    // Not refused: routed (this server has no such POST route, hence 404).
    expect((await raw('POST', '/v1/scans', { 'sec-fetch-site': 'same-origin', origin: 'null' })).status).toBe(
      404,
    );
    expect((await raw('POST', '/v1/scans')).status).toBe(404);
  });

  it('hands a body up to its limit over whole, and answers 413 past it without calling the handler', async () => {
    // A body cut short would reach the handler as if whole: an approval of part of what was checked.
    received.length = 0;
    expect(await post(MAX_READ_BYTES)).toMatchObject({ status: 200, body: String(MAX_READ_BYTES) });
    const refused = await post(MAX_READ_BYTES + 1);
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body).message).toBe(`the request body is larger than ${MAX_READ_BYTES} bytes`);
    expect(received).toEqual([MAX_READ_BYTES]);
  });

  it("sends the review page's protections with every answer of its own, whatever went wrong", async () => {
    // Prepare
    const port = new URL(server.url).port;
    const protections = {
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    };

    // Act
    const answers = [
      await raw('GET', '/v1/broken/p-1'),
      await raw('GET', '/v1/plans/%'),
      await raw('GET', '/v1/plans/p-1', { host: `attacker.example:${port}` }),
      await raw('POST', '/v1/echo', { 'sec-fetch-site': 'cross-site' }),
      await raw('GET', '/v1/nowhere'),
      await post(MAX_READ_BYTES + 1),
    ];

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([500, 400, 403, 403, 404, 413]);
    for (const answer of answers) expect(answer.headers).toMatchObject(protections);
    expect(JSON.parse(answers[0]!.body.toString())).toEqual({ message: 'internal error' });
  });

  it('answers HEAD like GET, without a body', async () => {
    const answer = await raw('HEAD', '/v1/plans/p-1');
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveLength(0);
  });
});
