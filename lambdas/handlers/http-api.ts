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
  readonly body: string;
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

/** A structured logger (Powertools Logger in Lambda); never given a secret. */
export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}
