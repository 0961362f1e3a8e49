import { gzipSync } from 'node:zlib';

/**
 * The parts of API Gateway HTTP API (payload format 2.0) events that the handlers read, and
 * their results. `serve` builds the same events, so one handler serves both.
 */
export interface HttpApiEvent {
  readonly rawPath?: string;
  readonly rawQueryString?: string;
  /** Lowercase header names, as API Gateway delivers them. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>;
  readonly pathParameters?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: {
    readonly requestId?: string;
    readonly http?: { readonly method?: string; readonly sourceIp?: string; readonly userAgent?: string };
  };
}

export interface HttpApiResult {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Text, or base64 bytes when `isBase64Encoded` (API Gateway and `serve` send the bytes). */
  readonly body: string;
  readonly isBase64Encoded?: boolean;
}

/** A JSON answer that never carries a stack trace or a secret. */
export function json(statusCode: number, body: unknown): HttpApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

/** A header by case-insensitive name. */
export function header(event: HttpApiEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {}))
    if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** The raw body as text and its size in bytes (base64 bodies decoded). */
export function rawBody(event: HttpApiEvent): { text: string; bytes: number } {
  if (event.body === undefined) return { text: '', bytes: 0 };
  if (event.isBase64Encoded) {
    const buffer = Buffer.from(event.body, 'base64');
    return { text: buffer.toString('utf8'), bytes: buffer.length };
  }
  return { text: event.body, bytes: Buffer.byteLength(event.body, 'utf8') };
}

/**
 * True when the client takes gzip: `Accept-Encoding` names it with a weight above 0, or does not
 * name it and takes `*` with a weight above 0 (RFC 9110 12.5.3).
 */
export function acceptsGzip(event: HttpApiEvent): boolean {
  let wildcard = false;
  for (const part of (header(event, 'accept-encoding') ?? '').split(',')) {
    const [coding, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    const wanted = q === undefined || Number(q.slice(2)) > 0;
    if (coding === 'gzip' || coding === 'x-gzip') return wanted;
    if (coding === '*') wildcard = wanted;
  }
  return wildcard;
}

/**
 * `result` gzipped when the client takes gzip and the body is worth it: a Lambda answer is at
 * most 6 MB, and an HTML page of thousands of images shrinks about eight times.
 */
export function gzippedFor(event: HttpApiEvent, result: HttpApiResult, minBytes = 16 * 1024): HttpApiResult {
  if (result.isBase64Encoded || result.body.length < minBytes || !acceptsGzip(event)) return result;
  return {
    ...result,
    headers: { ...result.headers, 'content-encoding': 'gzip', vary: 'accept-encoding' },
    body: gzipSync(result.body).toString('base64'),
    isBase64Encoded: true,
  };
}

/** A structured logger (Powertools Logger in Lambda); never given a secret. */
export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}
