import { gzipSync } from 'node:zlib';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { DynamoSightingStore } from '../../lambdas/adapters/dynamo-sighting-store';
import { silentLog } from '../../lambdas/adapters/log';
import { emfMetrics } from '../../lambdas/adapters/metrics';
import { clusterReportSchema } from '../../lambdas/core/report';
import { clusterKey, signatureHeader } from '../../lambdas/core/signature';
import type { SightingStore } from '../../lambdas/core/stores';
import type { HttpApiEvent } from '../../lambdas/handlers/http-api';
import { handleIngest, type IngestDeps, MAX_BODY_BYTES } from '../../lambdas/handlers/ingest';
import { startHttpServer } from '../../lambdas/local/http-server';
import { type LocalDynamo, startDynalite } from '../fixtures/dynalite';

const SECRET = 'test-ingest-secret';
const NOW = new Date('2026-11-22T18:00:30Z');
const T = Math.floor(NOW.getTime() / 1000);
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'c'.repeat(64)}`;

let dynamo: LocalDynamo;
let tableName: string;
let store: DynamoSightingStore;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  tableName = await dynamo.newTable();
  store = new DynamoSightingStore({ client: dynamo.documents, tableName });
});

const deps = (overrides: Partial<IngestDeps> = {}): IngestDeps => ({
  store,
  ingestSecret: async () => SECRET,
  now: () => NOW,
  hmac: hmacSha256Hex,
  log: silentLog,
  ...overrides,
});

function report(
  cluster = 'prod-eu',
  images: object[] = [
    {
      image: `${ECR}/web:1.4.2`,
      imageID: `${ECR}/web@${DIGEST}`,
      namespace: 'shop',
      workload: 'Deployment/web',
    },
  ],
) {
  return JSON.stringify({ cluster, observedAt: '2026-11-22T18:00:00Z', images });
}

/** An API Gateway v2 event carrying `body`, signed for `cluster` unless told otherwise. */
function event(
  body: string,
  options: { cluster?: string; t?: number; contentType?: string; signature?: string | null } = {},
): HttpApiEvent {
  const key = clusterKey(hmacSha256Hex, SECRET, options.cluster ?? 'prod-eu');
  const signature =
    options.signature === undefined
      ? signatureHeader(hmacSha256Hex, key, options.t ?? T, body)
      : options.signature;
  return {
    rawPath: '/v1/sightings',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      ...(signature === null ? {} : { 'x-janitor-signature': signature }),
    },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', sourceIp: '203.0.113.9' } },
  };
}

function isValidReport(text: string): boolean {
  try {
    return clusterReportSchema.safeParse(JSON.parse(text)).success;
  } catch {
    return false;
  }
}

async function storedItems(): Promise<number> {
  const answer = await dynamo.documents.send(new ScanCommand({ TableName: tableName }));
  return answer.Items?.length ?? 0;
}

describe('POST /v1/sightings', () => {
  it('stores a signed report and answers 202 with the counts', async () => {
    // Act
    const result = await handleIngest(event(report()), deps());

    // Assess
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toEqual({ accepted: 1, ignored: 0 });
    expect(await store.sightingsOf('web')).toEqual([
      expect.objectContaining({
        cluster: 'prod-eu',
        ref: { registry: ECR, repository: 'web', tag: '1.4.2', digest: DIGEST },
      }),
    ]);
    expect(await store.clusterReports()).toEqual([
      { cluster: 'prod-eu', lastReportAt: new Date('2026-11-22T18:00:00Z'), repositories: ['web'] },
    ]);
  });

  it('ignores an entry too long to be a reference instead of refusing the body, and stores the rest', async () => {
    // Anyone who may create a pod can make its image 5,000 characters long.
    const body = report('prod-eu', [{ image: `web:${'x'.repeat(5000)}` }, { image: 'nginx:1.27' }]);
    const result = await handleIngest(event(body), deps());
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toEqual({ accepted: 1, ignored: 1 });
  });

  it('counts unparseable references as ignored', async () => {
    const body = report('prod-eu', [{ image: 'Not A Ref' }, { image: 'nginx:1.27' }]);
    const result = await handleIngest(event(body), deps());
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toEqual({ accepted: 1, ignored: 1 });
  });

  it('accepts a base64-encoded body', async () => {
    const body = report();
    const encoded = { ...event(body), body: Buffer.from(body).toString('base64'), isBase64Encoded: true };
    expect((await handleIngest(encoded, deps())).statusCode).toBe(202);
  });

  it.each([
    ['a missing signature', event(report(), { signature: null }), 401, 'missing X-Janitor-Signature'],
    ['a malformed signature', event(report(), { signature: 't=1,v1=zz' }), 401, 'malformed'],
    ['a body signed for another cluster', event(report(), { cluster: 'staging' }), 401, 'does not match'],
    ['a replay outside the 300 s window', event(report(), { t: T - 301 }), 401, '301 s'],
    ['a signature from the future', event(report(), { t: T + 301 }), 401, '301 s'],
    [
      'a body changed after signing',
      { ...event(report()), body: report('prod-eu', []) },
      401,
      'does not match',
    ],
    ['a non-JSON content type', event(report(), { contentType: 'text/plain' }), 415, 'application/json'],
    ['invalid JSON', event('{"cluster":'), 400, 'not valid JSON'],
    ['no cluster', event('{"observedAt":"2026-11-22T18:00:00Z","images":[]}'), 400, 'cluster'],
    ['a bad observedAt', event('{"cluster":"prod-eu","observedAt":"soon","images":[]}'), 400, 'observedAt'],
    [
      'a misspelt imageID',
      event(
        `{"cluster":"prod-eu","observedAt":"2026-11-22T18:00:00Z","images":[{"image":"web:1","imageId":"web@sha256:${'a'.repeat(64)}"}]}`,
      ),
      400,
      'images.0: Unrecognized key: "imageId"',
    ],
    [
      'an entry without image',
      event('{"cluster":"prod-eu","observedAt":"2026-11-22T18:00:00Z","images":[{"imageID":"x"}]}'),
      400,
      'images.0.image',
    ],
  ])('refuses %s and stores nothing', async (_name, request, status, message) => {
    // Act
    const result = await handleIngest(request, deps());

    // Assess
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body).message).toContain(message);
    expect(result.body).not.toContain('at ');
    expect(result.body).not.toContain(SECRET);
    expect(await storedItems()).toBe(0);
  });

  const malformedSignatures = [
    'garbage',
    't=1,v1=zz',
    `v1=${'a'.repeat(64)}`,
    `t=${T}`,
    `t=${T},v1=${'a'.repeat(63)}`,
    `t=${T};v1=${'a'.repeat(64)}`,
  ];
  const badBodies: [string, string][] = [
    ['not JSON', '{"cluster":'],
    ['no cluster', '{"observedAt":"2026-11-22T18:00:00Z","images":[]}'],
    ['an invalid cluster', '{"cluster":"Prod EU!","observedAt":"2026-11-22T18:00:00Z","images":[]}'],
    ['null', 'null'],
    ['empty', ''],
  ];
  it.each(
    malformedSignatures.flatMap((signature) =>
      badBodies.map(([name, body]): [string, string, string] => [signature, name, body]),
    ),
  )(
    'answers 401 to the malformed signature %j before reading the body (%s)',
    async (signature, _name, body) => {
      // Act
      const result = await handleIngest(event(body, { signature }), deps());

      // Assess
      expect(result.statusCode).toBe(401);
      expect(JSON.parse(result.body).message).toContain('malformed X-Janitor-Signature header');
      expect(await storedItems()).toBe(0);
    },
  );

  /** `request` with a `Content-Encoding` header, its body `encoded` (base64, as API Gateway sends bytes). */
  const encodedAs = (request: HttpApiEvent, encoding: string, encoded: Buffer): HttpApiEvent => ({
    ...request,
    headers: { ...request.headers, 'content-encoding': encoding },
    body: encoded.toString('base64'),
    isBase64Encoded: true,
  });

  it.each([
    ['gzip', 'gzip'],
    ['GZip', 'GZip'],
    ['x-gzip', 'x-gzip'],
    ['br', 'br'],
    ['deflate', 'deflate'],
    ['gzip, identity', 'gzip'],
    ['identity, deflate', 'deflate'],
    // Named, but never echoed at any length.
    [`x-${'z'.repeat(5000)}`, `x-${'z'.repeat(38)}…`],
  ])(
    'answers 415 to Content-Encoding %j naming %s, before its type or signature',
    async (encoding, named) => {
      // Prepare: signed over the compressed bytes, so only the encoding is wrong.
      const compressed = gzipSync(report());
      const request = encodedAs(
        event(compressed.toString('latin1'), { contentType: 'text/plain', signature: 'garbage' }),
        encoding,
        compressed,
      );

      // Act
      const result = await handleIngest(request, deps());

      // Assess
      expect(result.statusCode).toBe(415);
      const { message } = JSON.parse(result.body) as { message: string };
      expect(message).toContain(`'${named}'`);
      expect(message).toContain('uncompressed (identity)');
      expect(await storedItems()).toBe(0);
    },
  );

  it.each([['identity'], ['IDENTITY'], [' Identity '], ['']])(
    'takes a body sent with Content-Encoding %j as it is',
    async (encoding) => {
      // Prepare
      const body = report();

      // Act
      const result = await handleIngest(encodedAs(event(body), encoding, Buffer.from(body)), deps());

      // Assess
      expect(result.statusCode).toBe(202);
    },
  );

  it('answers 415 to a gzipped body posted to serve, storing nothing', async () => {
    // Prepare: serve's HTTP server in front of the same handler.
    const server = await startHttpServer([
      { method: 'POST', path: '/v1/sightings', handle: (request) => handleIngest(request, deps()) },
    ]);
    const compressed = gzipSync(report());

    // Act
    const answer = await fetch(`${server.url}/v1/sightings`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'x-janitor-signature': signatureHeader(
          hmacSha256Hex,
          clusterKey(hmacSha256Hex, SECRET, 'prod-eu'),
          T,
          report(),
        ),
      },
      body: compressed,
    }).finally(() => server.close());

    // Assess
    expect(answer.status).toBe(415);
    expect(((await answer.json()) as { message: string }).message).toContain("'gzip'");
    expect(await storedItems()).toBe(0);
  });

  it('accepts a body of exactly 1 MiB and refuses 1 MiB + 1 byte before parsing it', async () => {
    // Prepare
    const base = report();
    const exact = base + ' '.repeat(MAX_BODY_BYTES - Buffer.byteLength(base));
    const over = `${exact} `;

    // Act
    const accepted = await handleIngest(event(exact), deps());
    const refused = await handleIngest(event(over), deps());

    // Assess
    expect(Buffer.byteLength(exact)).toBe(MAX_BODY_BYTES);
    expect(accepted.statusCode).toBe(202);
    expect(refused.statusCode).toBe(413);
  });

  it('answers 503 and moves no heartbeat when the store fails, so the reporter sends again', async () => {
    const failing: Pick<SightingStore, 'recordReport'> = {
      recordReport: async () => Promise.reject(new Error('throttled')),
    };
    const result = await handleIngest(event(report()), deps({ store: failing }));
    expect(result.statusCode).toBe(503);
    expect(result.body).not.toContain('throttled');
    expect(await store.clusterReports()).toEqual([]);
  });

  it('never answers 5xx and never stores anything for 10,000 malformed or unsigned bodies', async () => {
    // Prepare
    const json = fc.jsonValue().map((value) => JSON.stringify(value));
    const reportLike = fc
      .record(
        {
          cluster: fc.oneof(fc.string(), fc.constantFrom('prod-eu', 'staging'), fc.integer()),
          observedAt: fc.oneof(fc.string(), fc.constant('2026-11-22T18:00:00Z')),
          images: fc.oneof(
            fc.array(fc.record({ image: fc.oneof(fc.string(), fc.integer()) }), { maxLength: 3 }),
            fc.string(),
          ),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value));
    const body = fc.oneof(fc.string(), json, reportLike);
    const signing = fc.constantFrom('none', 'garbage', 'other-cluster', 'stale', 'valid-but-malformed');
    const requests = fc.tuple(
      body,
      signing,
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'),
    );

    // Act / Assess
    await fc.assert(
      fc.asyncProperty(requests, async ([text, how, contentType]) => {
        fc.pre(!isValidReport(text));
        const signed = event(text, {
          contentType,
          cluster: how === 'other-cluster' ? 'elsewhere' : 'prod-eu',
          t: how === 'stale' ? T - 3600 : T,
        });
        const request =
          how === 'none'
            ? event(text, { contentType, signature: null })
            : how === 'garbage'
              ? event(text, { contentType, signature: 'v1=nope' })
              : signed;
        const result = await handleIngest(request, deps());
        expect(result.statusCode).toBeLessThan(500);
        expect(result.statusCode).not.toBe(202);
      }),
      { numRuns: 10_000 },
    );
    expect(await storedItems()).toBe(0);
  });
});

describe('ingest metrics', () => {
  it("emits one EMF ClusterReport data point per stored report, matching the construct's alarms", async () => {
    // Prepare
    const lines: string[] = [];
    const metrics = emfMetrics('ingest-fn', (line) => lines.push(line));

    // Act
    await handleIngest(event(report('prod-eu')), deps({ metrics }));
    await handleIngest(event(report(), { signature: null }), deps({ metrics }));

    // Assess
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0]!);
    expect(emf).toMatchObject({ FunctionName: 'ingest-fn', Cluster: 'prod-eu', ClusterReport: 1 });
    expect(emf._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'RegistryJanitor',
        Dimensions: [['FunctionName'], ['FunctionName', 'Cluster']],
        Metrics: [{ Name: 'ClusterReport', Unit: 'Count' }],
      },
    ]);
  });

  it('counts a report of several bodies once all its parts are stored, and not before', async () => {
    // Prepare
    const lines: string[] = [];
    const metrics = emfMetrics('ingest-fn', (line) => lines.push(line));
    const part = (n: number) => {
      const body = JSON.parse(report()) as Record<string, unknown>;
      return JSON.stringify({ ...body, round: { part: n, parts: 2 } });
    };

    // Act and assess: part 2 first; the heartbeat and the metric wait for part 1.
    expect((await handleIngest(event(part(2)), deps({ metrics }))).statusCode).toBe(202);
    expect(lines).toHaveLength(0);
    expect(await store.clusterReports()).toEqual([
      {
        cluster: 'prod-eu',
        lastReportAt: new Date('2026-11-22T18:00:00Z'),
        incomplete: true,
        repositories: ['web'],
      },
    ]);
    expect((await handleIngest(event(part(1)), deps({ metrics }))).statusCode).toBe(202);
    expect(lines).toHaveLength(1);
    expect(await store.clusterReports()).toEqual([
      { cluster: 'prod-eu', lastReportAt: new Date('2026-11-22T18:00:00Z'), repositories: ['web'] },
    ]);
  });

  it('refuses an observedAt more than 5 minutes ahead of its clock, storing nothing, and takes one a little ahead as now', async () => {
    const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();
    const body = (minutes: number) =>
      JSON.stringify({ ...(JSON.parse(report()) as object), observedAt: at(minutes) });
    const ahead = await handleIngest(event(body(6)), deps());
    expect(ahead.statusCode).toBe(400);
    expect(JSON.parse(ahead.body).message).toContain("is 6 minutes after the server's clock");
    expect(await storedItems()).toBe(0);
    expect((await handleIngest(event(body(4)), deps())).statusCode).toBe(202);
    expect((await store.clusterReports())[0]?.lastReportAt).toEqual(NOW);
  });

  it.each([
    [{ part: 0, parts: 2 }, 'round.part'],
    [{ part: 3, parts: 2 }, 'round: part must be at most parts'],
    [{ part: 1, parts: 2, of: 2 }, 'round'],
    [{ part: 1.5, parts: 2 }, 'round.part'],
  ])('refuses a body whose round is %j with 400, storing nothing', async (round, message) => {
    const body = JSON.stringify({ ...(JSON.parse(report()) as object), round });
    const answer = await handleIngest(event(body), deps());
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).message).toContain(message);
    expect(await storedItems()).toBe(0);
  });
});
