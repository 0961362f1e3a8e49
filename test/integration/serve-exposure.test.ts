/**
 * What `serve` exposes beyond what it is asked to: its embedded DynamoDB answers only its own
 * client, and off loopback no answer without a password carries a signed review link.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { silentLog } from '../../lambdas/adapters/log';
import { linkBaseUrl, startDatabase, startServe } from '../../lambdas/local/serve';
import { type EcrFake, startEcrFake } from '../fixtures/ecr-fake';

describe("serve's embedded DynamoDB", () => {
  let database: Awaited<ReturnType<typeof startDatabase>>;
  beforeAll(async () => {
    database = await startDatabase(join(mkdtempSync(join(tmpdir(), 'janitor-db-')), 'dynamodb'));
  });
  afterAll(() => database.close());

  const call = (headers: Record<string, string>, method = 'POST') =>
    fetch(database.endpoint, {
      method,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        ...headers,
      },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
  const signed =
    'AWS4-HMAC-SHA256 Credential=local/20261130/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0';

  it("answers serve's own client", async () => {
    const tables = await database.documents.send(new ListTablesCommand({}));
    expect(tables.TableNames).toEqual(['registry-janitor']);
  });

  it.each([
    [
      'a web page (Origin) with any signature',
      { origin: 'https://evil.example', authorization: signed },
      'POST',
    ],
    [
      'a CORS preflight',
      { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      'OPTIONS',
    ],
    ['a local process signing with a key of its own', { authorization: signed }, 'POST'],
  ])('refuses %s', async (_name, headers, method) => {
    const answer = await call(headers, method);
    expect(answer.status).toBe(403);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });
});

const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_ENDPOINT_URL_ECR: '<fake>',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * A `serve` bound to `host`, scanning an ECR fake that holds one image of `web`, for the tests of
 * one `describe`: started before them, stopped (and the environment restored) after.
 */
function serveOnEcrFake(host: string) {
  const world = {
    fake: undefined as unknown as EcrFake,
    running: undefined as unknown as Awaited<ReturnType<typeof startServe>>,
    printed: [] as string[],
  };
  const savedEnv = new Map<string, string | undefined>();
  beforeAll(async () => {
    world.fake = await startEcrFake();
    world.fake.putImage({ repository: 'web', pushedAt: new Date('2026-01-01T00:00:00Z') });
    // The SDK reads its credentials and endpoint from the process's environment.
    for (const [name, value] of Object.entries(AWS_ENV)) {
      savedEnv.set(name, process.env[name]);
      process.env[name] = value.replace('<fake>', world.fake.url);
    }
    world.running = await startServe({
      port: 0,
      host,
      dataDir: mkdtempSync(join(tmpdir(), 'janitor-serve-')),
      env: process.env,
      print: (text) => world.printed.push(text),
      log: silentLog,
    });
  });
  afterAll(async () => {
    await world.running?.close();
    await world.fake?.close();
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  return world;
}

describe('serve off loopback', () => {
  const world = serveOnEcrFake('0.0.0.0');

  it('answers POST /v1/scans without the signed review link', async () => {
    const port = new URL(world.running.url).port;
    const answer = await fetch(`http://127.0.0.1:${port}/v1/scans?wait=true`, { method: 'POST' });
    const body = (await answer.json()) as Record<string, unknown>;
    expect(answer.status).toBe(200);
    expect(body.planId).toEqual(expect.stringMatching(/^scan-/));
    expect(body).toMatchObject({ started: true, repositories: 1 });
    expect(body).not.toHaveProperty('reviewUrl');
    expect(JSON.stringify(body)).not.toMatch(/sig=/);
    // The digest's link names the loopback address, which a browser can open, not 0.0.0.0.
    const digest = world.printed.join('');
    expect(digest).toContain(`Review and approve: http://127.0.0.1:${port}/v1/plans/`);
    expect(digest).not.toContain('0.0.0.0');
  });
});

describe('POST /v1/scans', () => {
  const world = serveOnEcrFake('127.0.0.1');
  const post = async (query = '') => {
    const answer = await fetch(`${world.running.url}/v1/scans${query}`, { method: 'POST' });
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
  };

  it('runs one scan at a time: while one runs, 409 names its plan', async () => {
    // Prepare: a registry slow enough that the first scan is still listing.
    world.fake.setFaults({ latencyMs: 1_500 });
    try {
      // Act
      const first = await post();
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const second = await post();

      // Assess
      expect(first.status).toBe(202);
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({ planIds: [first.body.planId] });
      expect(second.body.message).toContain(`a scan is running (plan ${first.body.planId})`);
    } finally {
      world.fake.setFaults({});
      await post('?wait=true').catch(() => undefined);
    }
  });

  it('refuses a wait that is neither true nor false, and other methods with 405', async () => {
    expect(await post('?wait=yes')).toEqual({
      status: 400,
      body: { message: "wait must be true or false, got 'yes'" },
    });
    const get = await fetch(`${world.running.url}/v1/scans`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('linkBaseUrl', () => {
  it.each([
    ['http://0.0.0.0:8787', 'http://127.0.0.1:8787'],
    ['http://[::]:8787', 'http://[::1]:8787'],
    ['http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
    ['http://[::1]:8787', 'http://[::1]:8787'],
    ['http://192.168.1.20:8787', 'http://192.168.1.20:8787'],
  ])('%s → %s', (url, expected) => {
    expect(linkBaseUrl(url)).toBe(expected);
  });
});
