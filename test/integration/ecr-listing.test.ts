/**
 * EcrRegistry's listing through the real SDK, over HTTP: the next DescribeImages page is asked for
 * as soon as the raw answer names it (lambdas/adapters/early-next-token.ts), and the SDK's own
 * reading of each answer still decides what is listed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchGetImageCommand,
  type DescribeImagesCommand,
  ECRClient,
  paginateDescribeImages,
} from '@aws-sdk/client-ecr';
import { EcrRegistry } from '../../lambdas/adapters/ecr-registry';
import { RegistryReadError } from '../../lambdas/adapters/errors';
import { type EcrFake, manifestFor, startEcrFake } from '../fixtures/ecr-fake';

const NOW = new Date('2026-11-22T12:00:00.000Z');

/** Clients and servers a test opened, closed after it whatever its outcome. */
const opened: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

function ecrClient(endpoint: string, maxAttempts: number): ECRClient {
  const client = new ECRClient({ endpoint, region: 'us-east-1', credentials, maxAttempts });
  opened.push(() => client.destroy());
  return client;
}
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * A client whose `send` notes when each DescribeImages page is asked for and when the SDK hands it
 * over (`ask TOKEN`, `got TOKEN`; the first page is `first`), and each BatchGetImage (`read N`).
 */
function tracedClient(endpoint: string): { client: ECRClient; events: string[] } {
  const client = ecrClient(endpoint, 5);
  const events: string[] = [];
  type Traced = DescribeImagesCommand | BatchGetImageCommand;
  const send = client.send.bind(client) as (command: Traced) => Promise<unknown>;
  (client as { send: unknown }).send = async (command: Traced) => {
    if (command instanceof BatchGetImageCommand) {
      events.push(`read ${command.input.imageIds?.length}`);
      return send(command);
    }
    const token = command.input.nextToken ?? 'first';
    events.push(`ask ${token}`);
    const output = await send(command);
    events.push(`got ${token}`);
    return output;
  };
  return { client, events };
}

describe('EcrRegistry.listImages against the ECR fake', () => {
  let fake: EcrFake;
  beforeAll(async () => {
    fake = await startEcrFake({ now: () => NOW });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
    fake.setFaults({});
  });

  function putImages(count: number): void {
    for (let i = 0; i < count; i++) {
      fake.putImage({
        repository: 'web',
        manifest: manifestFor({ seed: `web-${i}` }),
        pushedAt: new Date(NOW.getTime() - (count - i) * 60_000),
        tags: i % 3 === 0 ? [] : [`build-${i}`],
      });
    }
  }

  it('asks for each next page before the SDK has read the one before, and lists what the SDK reads', async () => {
    // Prepare
    putImages(2500);
    const { client, events } = tracedClient(fake.url);
    const before = fake.calls.DescribeImages;

    // Act
    const images = await new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    const calls = fake.calls.DescribeImages - before;
    const pages = [];
    for await (const page of paginateDescribeImages({ client, pageSize: 1000 }, { repositoryName: 'web' }))
      pages.push(...(page.imageDetails ?? []));
    expect(images.map((image) => image.digest).sort()).toEqual(
      pages.map((detail) => detail.imageDigest).sort(),
    );
    expect(images).toHaveLength(2500);
    const [first, second, third] = events.filter((event) => event.startsWith('ask')).map((e) => e.slice(4));
    expect(first).toBe('first');
    // Page 2 is asked for before page 1 reaches the adapter, page 3 before page 2.
    expect(events.slice(0, 6)).toEqual([
      'ask first',
      `ask ${second}`,
      'got first',
      `ask ${third}`,
      `got ${second}`,
      `got ${third}`,
    ]);
    // One request per page, none wasted.
    expect(calls).toBe(3);
  });

  it('passes each page but the last to whileNextPage, after the next page was asked for', async () => {
    // Prepare
    putImages(2500);
    const { client, events } = tracedClient(fake.url);
    const seen: { digests: string[]; asked: number }[] = [];
    const asked = () => events.filter((event) => event.startsWith('ask')).length;

    // Act
    const images = await new EcrRegistry({ client, region: 'us-east-1' }).listImages(
      'web',
      undefined,
      undefined,
      (page) => seen.push({ digests: page.map((image) => image.digest), asked: asked() }),
    );

    // Assess: pages 1 and 2, in listing order, each while the page after it was on its way.
    expect(seen.map((page) => [page.digests.length, page.asked])).toEqual([
      [1000, 2],
      [1000, 3],
    ]);
    expect(seen.flatMap((page) => page.digests)).toEqual(images.slice(0, 2000).map((image) => image.digest));
  });

  it('reads the full batches of indexes listed so far once the last page is in, before the SDK has read it', async () => {
    // Prepare: 250 multi-arch families (an index and 2 children) among 1,750 single images.
    for (let i = 0; i < 2000; i++) {
      const pushedAt = new Date(NOW.getTime() - (2000 - i) * 60_000);
      if (i % 8 === 0)
        fake.putMultiArch({ repository: 'web', seed: `family-${i}`, tags: [`v${i}`], pushedAt });
      else fake.putImage({ repository: 'web', manifest: manifestFor({ seed: `web-${i}` }), pushedAt });
    }
    const { client, events } = tracedClient(fake.url);
    const start = fake.calls.log.length;

    // Act
    const images = await new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    expect(images).toHaveLength(2500);
    expect(images.filter((image) => image.children !== undefined)).toHaveLength(250);
    const asks = events.filter((event) => event.startsWith('ask'));
    const last = asks[asks.length - 1]!.slice(4);
    const firstRead = events.findIndex((event) => event.startsWith('read'));
    // Asked for after the last page, and before the SDK handed that page over.
    expect(firstRead).toBeGreaterThan(events.indexOf(`ask ${last}`));
    expect(firstRead).toBeLessThan(events.indexOf(`got ${last}`));
    expect(events[firstRead]).toBe('read 100');
    // As few calls as reading them all at once: ceil(250 / 100).
    expect(events.filter((event) => event.startsWith('read'))).toHaveLength(3);
    // On the wire, every page of the listing is asked for before any manifest.
    const log = fake.calls.log.slice(start).map((call) => call.operation);
    expect(log.lastIndexOf('DescribeImages')).toBeLessThan(log.indexOf('BatchGetImage'));
  });

  it('keeps listing every page when requests are throttled and retried', async () => {
    // Prepare
    putImages(3200);
    fake.setFaults({ throttleEvery: 3 });
    const client = ecrClient(fake.url, 6);

    // Act
    const images = await new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    expect(new Set(images.map((image) => image.digest)).size).toBe(3200);
    expect(fake.calls.throttled).toBeGreaterThan(0);
    expect(fake.calls.DescribeImages - fake.calls.throttled).toBe(4);
  });
});

/** What the stand-in answers: a status and body; `breakOff` sends half the body, then drops the connection. */
interface ScriptedAnswer {
  readonly status: number;
  readonly body: string;
  readonly breakOff?: boolean;
}

/**
 * An ECR stand-in answering each request with what `answer` gives for its operation and token;
 * `calls` lists them in arrival order (`DescribeImages first`, `DescribeImages p2`, `BatchGetImage`).
 */
async function startScriptedEcr(
  answer: (token: string | undefined, operation: string) => ScriptedAnswer,
): Promise<{ url: string; tokens: (string | undefined)[]; calls: string[] }> {
  const tokens: (string | undefined)[] = [];
  const calls: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const operation = String(request.headers['x-amz-target']).split('.').pop() ?? '';
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { nextToken?: string };
      if (operation === 'DescribeImages') tokens.push(input.nextToken);
      calls.push(operation === 'DescribeImages' ? `${operation} ${input.nextToken ?? 'first'}` : operation);
      const { status, body, breakOff } = answer(input.nextToken, operation);
      const type = status >= 400 ? (JSON.parse(body) as { __type: string }).__type : undefined;
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(body),
        ...(type ? { 'x-amzn-errortype': type } : {}),
      });
      if (!breakOff) response.end(body);
      else response.write(body.slice(0, body.length >> 1), () => response.socket?.destroy());
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  opened.push(() => new Promise<void>((closed) => server.close(() => closed())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, tokens, calls };
}

const detail = (n: number, mediaType = 'application/vnd.oci.image.manifest.v1+json') => ({
  registryId: '123456789012',
  repositoryName: 'web',
  imageDigest: `sha256:${n.toString(16).padStart(64, '0')}`,
  imageTags: [`build-${n}`],
  imagePushedAt: 1_790_000_000 + n,
  imageSizeInBytes: 1000,
  imageManifestMediaType: mediaType,
});
const indexDetail = (n: number) => detail(n, 'application/vnd.oci.image.index.v1+json');

describe('EcrRegistry.listImages when the raw answer misleads the early reading', () => {
  it('asks again with the token the SDK read, and lists every image once', async () => {
    // Prepare: page 1's real token is "p2", but a field the SDK does not model names "decoy" last.
    const ecr = await startScriptedEcr((token) => {
      if (token === undefined)
        return {
          status: 200,
          body: JSON.stringify({
            imageDetails: [detail(1), detail(2)],
            nextToken: 'p2',
            unmodelled: { nextToken: 'decoy' },
          }),
        };
      if (token === 'p2') return { status: 200, body: JSON.stringify({ imageDetails: [detail(3)] }) };
      return {
        status: 400,
        body: JSON.stringify({ __type: 'InvalidParameterException', message: 'bad token' }),
      };
    });
    const client = ecrClient(ecr.url, 1);

    // Act
    const images = await new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    expect(images.map((image) => image.digest)).toEqual(
      [detail(1), detail(2), detail(3)].map((d) => d.imageDigest),
    );
    expect(ecr.tokens).toEqual([undefined, 'decoy', 'p2']);
  });

  it('fails the listing when a page the early reading named cannot be read, and drops the page it asked for', async () => {
    // Prepare: page 1 names page 2, then breaks off.
    const ecr = await startScriptedEcr((token) =>
      token === undefined
        ? { status: 200, body: `{"nextToken":"p2","imageDetails":[${JSON.stringify(detail(1))},{` }
        : { status: 200, body: JSON.stringify({ imageDetails: [detail(2)] }) },
    );
    const { client, events } = tracedClient(ecr.url);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    opened.push(() => process.off('unhandledRejection', onUnhandled));

    // Act
    const listing = new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    await expect(listing).rejects.toThrow(RegistryReadError);
    await expect(listing).rejects.toThrow(/ecr:DescribeImages/);
    // Page 2 was asked for early, then given up without a word.
    expect(events).toContain('ask p2');
    await new Promise((settled) => setTimeout(settled, 50));
    expect(unhandled).toEqual([]);
  });

  it('reads no index manifest when a page after the first 100 indexes fails', async () => {
    // Prepare: page 1 lists 150 indexes and names page 2, which fails for good.
    const ecr = await startScriptedEcr((token, operation) => {
      if (operation !== 'DescribeImages')
        return {
          status: 400,
          body: JSON.stringify({ __type: 'InvalidParameterException', message: 'unexpected' }),
        };
      if (token === undefined)
        return {
          status: 200,
          body: JSON.stringify({
            imageDetails: Array.from({ length: 150 }, (_, i) => indexDetail(i + 1)),
            nextToken: 'p2',
          }),
        };
      return {
        status: 400,
        body: JSON.stringify({ __type: 'InvalidParameterException', message: 'bad token' }),
      };
    });
    const client = ecrClient(ecr.url, 1);

    // Act
    const listing = new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    await expect(listing).rejects.toThrow(/bad token/);
    await new Promise((settled) => setTimeout(settled, 50));
    expect(ecr.calls).toEqual(['DescribeImages first', 'DescribeImages p2']);
  });

  it('lists every image when a 200 answer breaks off mid-body and the SDK asks again', async () => {
    // Prepare: the first answer to page 1 drops the connection half-way through its body.
    let attempts = 0;
    const ecr = await startScriptedEcr((token) => {
      if (token === undefined) {
        attempts += 1;
        const body = JSON.stringify({ imageDetails: [detail(1), detail(2)], nextToken: 'p2' });
        return { status: 200, body, breakOff: attempts === 1 };
      }
      return { status: 200, body: JSON.stringify({ imageDetails: [detail(3)] }) };
    });
    const client = ecrClient(ecr.url, 3);

    // Act
    const images = await new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    expect(images.map((image) => image.digest)).toEqual(
      [detail(1), detail(2), detail(3)].map((d) => d.imageDigest),
    );
    expect(ecr.tokens).toEqual([undefined, undefined, 'p2']);
  });

  it('falls back to the SDK when the raw answer cannot be read early', async () => {
    // Prepare: a token longer than the early reading looks at.
    const long = 't'.repeat(10_000);
    const ecr = await startScriptedEcr((token) =>
      token === undefined
        ? { status: 200, body: JSON.stringify({ imageDetails: [detail(1)], nextToken: long }) }
        : { status: 200, body: JSON.stringify({ imageDetails: [detail(2)] }) },
    );
    const client = ecrClient(ecr.url, 1);

    // Act
    const images = await new EcrRegistry({ client, region: 'us-east-1' }).listImages('web');

    // Assess
    expect(images).toHaveLength(2);
    expect(ecr.tokens).toEqual([undefined, long]);
  });
});
