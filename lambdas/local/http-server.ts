import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpApiEvent, HttpApiResult } from '../handlers/http-api';

/** A route of the local API: the same handlers as in Lambda, behind the same event shape. */
export interface Route {
  readonly method: 'GET' | 'POST';
  /** A path pattern with `{name}` parameters, e.g. `/v1/plans/{id}/approve`. */
  readonly path: string;
  readonly handle: (event: HttpApiEvent) => Promise<HttpApiResult>;
}

/**
 * Request bodies larger than this are answered 413 and never reach a handler (the ingest refuses
 * anything over 1 MiB itself); an approval form of the largest review page (`MAX_APPROVAL_FORM_BYTES`)
 * fits, as it fits in Lambda's 6 MB request.
 */
export const MAX_READ_BYTES = 6 * 1024 * 1024;

/**
 * The headers of every answer this server makes itself (a refusal, 400, 404, 413, 500): the
 * review page's protections, so that no answer on its paths goes without them, whichever way it
 * failed. Routes set their own.
 */
const OWN_ANSWER_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** Sends one of this server's own JSON answers. */
function ownAnswer(
  response: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, string> = {},
) {
  if (!response.headersSent) response.writeHead(status, { ...OWN_ANSWER_HEADERS, ...extra });
  response.end(JSON.stringify({ message }));
}

/**
 * Serves `routes` over HTTP by turning each request into an API Gateway HTTP API (payload 2.0)
 * event, as `serve` and the tests need: the deployed handlers run unchanged. HEAD is answered
 * like GET without a body.
 */
export async function startHttpServer(
  routes: readonly Route[],
  options: { readonly host?: string; readonly port?: number } = {},
): Promise<{
  readonly server: Server;
  readonly url: string;
  /** Replaces the routes (`serve` builds them once it knows its own address). */
  setRoutes(routes: readonly Route[]): void;
  close(): Promise<void>;
}> {
  let compiled = routes.map((route) => ({ route, pattern: compile(route.path) }));
  const loopbackOnly = isLoopback(options.host ?? '127.0.0.1');
  const server = createServer((request, response) => {
    const refusal = refusalOf(request, loopbackOnly);
    if (refusal) {
      request.resume();
      ownAnswer(response, 403, refusal);
      return;
    }
    void answer(request, response, compiled);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    setRoutes(next) {
      compiled = next.map((route) => ({ route, pattern: compile(route.path) }));
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * Why a request is refused before any route sees it, if it is:
 * - bound to loopback, a `Host` that is not a loopback name: a web page whose own name was made
 *   to resolve to 127.0.0.1 (DNS rebinding) would otherwise read the dashboard, with its signed
 *   review links, as its own origin;
 * - a POST that a browser says comes from another site (`Sec-Fetch-Site`, which browsers send on
 *   every request and pages cannot set; `Origin` would not do: under this server's
 *   `Referrer-Policy: no-referrer` a browser sends `Origin: null` for its own forms). The reporter
 *   and curl send none and are not affected.
 */
function refusalOf(request: IncomingMessage, loopbackOnly: boolean): string | undefined {
  if (loopbackOnly && !isLoopback(hostname(request.headers.host ?? ''))) {
    return 'this server answers requests addressed to localhost, 127.0.0.1 or [::1] only';
  }
  const site = request.headers['sec-fetch-site'];
  if (request.method === 'POST' && site !== undefined && site !== 'same-origin' && site !== 'none') {
    return 'cross-site request refused';
  }
  return undefined;
}

/** The name in a `Host` header, without its port (`[::1]:8787` → `::1`). */
function hostname(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!;
  return host.replace(/:\d+$/, '');
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  routes: readonly { route: Route; pattern: RegExp }[],
): Promise<void> {
  try {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    for (const { route, pattern } of routes) {
      const match = route.method === method ? pattern.exec(url.pathname) : null;
      if (!match) continue;
      const parameters = decodedParameters(match.groups ?? {});
      if (!parameters) {
        request.resume();
        ownAnswer(response, 400, 'the path is not valid percent-encoding');
        return;
      }
      const event = await toEvent(request, url, parameters);
      if (event === undefined) {
        request.resume();
        ownAnswer(response, 413, `the request body is larger than ${MAX_READ_BYTES} bytes`, {
          connection: 'close',
        });
        return;
      }
      const result = await route.handle(event);
      // As API Gateway does: a base64 body is sent as its bytes.
      const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
      response.writeHead(result.statusCode, result.headers);
      response.end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    const allowed = routes
      .filter(({ pattern }) => pattern.test(url.pathname))
      .map(({ route }) => route.method);
    if (allowed.length > 0) {
      request.resume();
      const allow = [...new Set(allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].join(', ');
      ownAnswer(response, 405, `${request.method} is not allowed here; use ${allow}`, { allow });
      return;
    }
    ownAnswer(response, 404, 'not found');
  } catch {
    ownAnswer(response, 500, 'internal error');
  }
}

/** The path parameters, percent-decoded as API Gateway hands them over; undefined when one cannot be. */
function decodedParameters(raw: Record<string, string>): Record<string, string> | undefined {
  try {
    return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, decodeURIComponent(value)]));
  } catch {
    return undefined;
  }
}

async function toEvent(
  request: IncomingMessage,
  url: URL,
  pathParameters: Record<string, string>,
): Promise<HttpApiEvent | undefined> {
  const body = await readBody(request);
  if (body === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  return {
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: query,
    pathParameters,
    body: body.toString('base64'),
    isBase64Encoded: true,
    requestContext: {
      http: {
        method: request.method ?? 'GET',
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
    },
  };
}

/**
 * The request's body, or undefined once it passes `MAX_READ_BYTES`: a body cut short would reach
 * the handler as if whole (an approval of part of what was checked). The rest is read and dropped,
 * so that the client, still sending, gets the answer.
 */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_READ_BYTES) return void chunks.push(chunk);
      request.off('data', onData).off('end', onEnd).off('error', reject);
      request.resume();
      resolve(undefined);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    request.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

function compile(path: string): RegExp {
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, '(?<$1>[^/]+)');
  return new RegExp(`^${source}$`);
}
