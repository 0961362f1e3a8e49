import { createServer } from 'node:net';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { clusterKey, verifySignature } from '../../lambdas/core/signature';
import { sightingsUrl } from '../../reporter/src/config';
import { IngestError } from '../../reporter/src/errors';
import { backoffDelayMs, type RetryPolicy } from '../../reporter/src/retry';
import { sendBody } from '../../reporter/src/send';
import { type IngestFake, startIngestFake } from '../fixtures/ingest-fake';

const KEY = clusterKey(hmacSha256Hex, 'ingest-secret', 'prod-eu');
const BODY =
  '{"cluster":"prod-eu","observedAt":"2026-11-22T18:00:00Z","images":[{"image":"web:1","namespace":"shop","workload":"Deployment/web"}]}';

let ingest: IngestFake;
let sleeps: number[];
const retry = (): RetryPolicy => ({
  attempts: 3,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  random: () => 0.5,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
});

beforeAll(async () => {
  ingest = await startIngestFake({ key: KEY, pathPrefix: '/prod' });
});
afterAll(() => ingest.close());
beforeEach(() => {
  ingest.reset();
  sleeps = [];
});

/** A clock that moves 10 s on each reading, so a re-signed retry has a later `t`. */
function tickingClock(): () => Date {
  let now = Date.now();
  return () => {
    now += 10_000;
    return new Date(now);
  };
}

const target = () => ({ url: sightingsUrl(ingest.endpoint), key: KEY });

describe('sending a body', () => {
  it('POSTs JSON to the endpoint path + /v1/sightings with a signature the ingest verifies', async () => {
    const delivery = await sendBody(BODY, target(), { now: () => new Date(), retry: retry() });

    expect(delivery).toEqual({ accepted: 1, ignored: 0 });
    const [request] = ingest.requests;
    expect(request).toMatchObject({ status: 202, contentType: 'application/json', rawBody: BODY });
    const check = verifySignature({
      header: request?.signature,
      rawBody: BODY,
      key: KEY,
      now: new Date(),
      hmac: hmacSha256Hex,
    });
    expect(check).toEqual({ ok: true });
  });

  it('retries a 503 with a fresh signature and succeeds', async () => {
    ingest.failNext(1);

    await sendBody(BODY, target(), { now: tickingClock(), retry: retry() });

    expect(ingest.requests.map((request) => request.status)).toEqual([503, 202]);
    const [first, second] = ingest.requests;
    expect(second!.t! - first!.t!).toBe(10);
    expect(second?.signature).not.toBe(first?.signature);
    expect(sleeps).toEqual([750]);
  });

  it("waits at least the server's Retry-After", async () => {
    ingest.failNext(1, 7);
    await sendBody(BODY, target(), { now: () => new Date(), retry: retry() });
    expect(sleeps).toEqual([7000]);
  });

  it("reports a 4xx with the server's message and does not retry it", async () => {
    ingest.rejectWith(400, 'observedAt: Invalid ISO datetime');

    const error = await sendBody(BODY, target(), { now: () => new Date(), retry: retry() }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).status).toBe(400);
    expect((error as IngestError).message).toMatch(/: 400 observedAt: Invalid ISO datetime/);
    expect(ingest.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('fails with the last answer once every attempt got a 5xx', async () => {
    ingest.failNext(5);
    await expect(sendBody(BODY, target(), { now: () => new Date(), retry: retry() })).rejects.toThrow(
      /503 Service Unavailable/,
    );
    expect(ingest.requests).toHaveLength(3);
    expect(sleeps).toEqual([750, 1500]);
  });

  it('retries network errors and names them', async () => {
    const port = await closedPort();
    const url = sightingsUrl(`http://127.0.0.1:${port}`);
    const log: string[] = [];

    const sending = sendBody(
      BODY,
      { url, key: KEY },
      { now: () => new Date(), retry: retry(), log: (line) => log.push(line) },
    );

    await expect(sending).rejects.toThrow(/ECONNREFUSED/);
    expect(log).toHaveLength(2);
    expect(log.join('\n')).not.toContain(KEY);
  });

  it('does not follow a redirect (a POST would turn into a GET)', async () => {
    const redirecting: typeof fetch = async () =>
      new Response(null, {
        status: 301,
        headers: { location: 'https://elsewhere.example.com/v1/sightings' },
      });
    await expect(
      sendBody(BODY, target(), { now: () => new Date(), retry: retry(), fetch: redirecting }),
    ).rejects.toThrow(/301 redirect to https:\/\/elsewhere\.example\.com\/v1\/sightings/);
  });
});

describe('backoff', () => {
  const policy: RetryPolicy = { attempts: 6, baseDelayMs: 1000, maxDelayMs: 5000 };

  it('doubles, with half of each wait random, up to the cap', () => {
    const at = (random: number) =>
      [1, 2, 3, 4].map((retry) => backoffDelayMs(retry, { ...policy, random: () => random }));
    expect(at(0)).toEqual([500, 1000, 2000, 2500]);
    expect(at(0.999999)).toEqual([1000, 2000, 4000, 5000]);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
