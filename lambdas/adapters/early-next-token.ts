/**
 * A paged AWS answer names its next page in its body. The SDK learns that token only once it has
 * turned the whole page into objects: for a DescribeImages page of 1,000 images that is ~10 ms of
 * CPU in a short-lived process, paid between one page's answer and the next page's request, once
 * per page. This middleware reads the token from the raw body first, so the lister can ask for the
 * next page and let the SDK's reading of this one overlap that round trip.
 *
 * The early token is only a hint: the lister compares it with the token the SDK read and, when they
 * differ, drops the page it asked for and asks again with the SDK's. A wrong guess costs one call,
 * never a page.
 */
import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types';

/** What the middleware found in a body: the next token, no token (the last page), or nothing readable. */
export const UNREADABLE = Symbol('unreadable');
export type EarlyToken = string | undefined | typeof UNREADABLE;

/**
 * Adds the early-token reader to `command` (inside the SDK's deserializer, so inside its retries).
 * `onToken` is called at most once, with the token of the first answer that is a 200 with a
 * readable body (the SDK may still fail to read the rest of it), before the SDK reads that answer.
 * The SDK's reading is then deferred by one turn of the event loop, so that a request `onToken`
 * starts is on the wire before it.
 */
export function readNextTokenEarly<Input extends object, Output extends object>(
  command: { readonly middlewareStack: MiddlewareStack<Input, Output> },
  onToken: (token: string | undefined) => void,
  field = 'nextToken',
): void {
  let told = false;
  const middleware: DeserializeMiddleware<Input, Output> = (next) => async (args) => {
    const result = await next(args);
    const response = result.response as { statusCode?: unknown; body?: unknown } | undefined;
    if (told || !response || response.statusCode !== 200 || !isByteStream(response.body)) return result;
    const bytes = await collect(response.body);
    // The SDK reads a body that is already bytes as it is.
    response.body = bytes;
    const token = tokenIn(bytes, field);
    if (token !== UNREADABLE) {
      told = true;
      onToken(token);
      await new Promise((done) => setImmediate(done));
    }
    return result;
  };
  command.middlewareStack.addRelativeTo(middleware, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: 'registryJanitorEarlyNextToken',
  });
}

/**
 * The value of the top-level `field` of a JSON object body, without parsing the rest: `undefined`
 * when the body has no such key or it is null, `UNREADABLE` when the body is not what was expected.
 *
 * A key is a quoted name after `{` or `,` and before a colon. Inside a JSON string a quote is
 * always escaped, so those bytes around `"nextToken"` can only be a key (a string value is followed
 * by `,`, `]` or `}`; the end of a longer key such as `"x\"nextToken"` follows a backslash).
 * DescribeImages and its like have no nested key of that name; if an answer ever does, the
 * lister's check against the SDK's own reading catches it.
 */
export function tokenIn(bytes: Uint8Array, field = 'nextToken'): EarlyToken {
  // Bytes, not text: decoding a page of ~300 KB to find one key would cost more than the search.
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (body[skipSpace(body, 0)] !== OPEN_BRACE) return UNREADABLE;
  const key = `"${field}"`;
  // The last occurrence that is a key: after `{` or `,`, before a colon. Anywhere else the name
  // is a string value (a tag), or the end of a longer key (`"x\"nextToken"`).
  let at = body.lastIndexOf(key);
  while (at >= 0 && !isKeyAt(body, at, key.length)) at = at > 0 ? body.lastIndexOf(key, at - 1) : -1;
  if (at < 0) return undefined;
  const after = body.toString('utf8', at + key.length, at + key.length + MAX_TOKEN_TEXT);
  const value = /^\s*:\s*(null|"(?:[^"\\]|\\.)*")/.exec(after);
  if (!value) return UNREADABLE;
  if (value[1] === 'null') return undefined;
  try {
    const token = JSON.parse(value[1]!) as string;
    return token === '' ? undefined : token;
  } catch {
    return UNREADABLE;
  }
}

/** JSON's white space (space, tab, line feed, carriage return), then `{`, `:` and `,`, as bytes. */
const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const OPEN_BRACE = 0x7b;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Whether the `length` bytes at `at` (a quoted name) stand where a key does: after `{` or `,`, before `:`. */
function isKeyAt(body: Buffer, at: number, length: number): boolean {
  let before = at - 1;
  while (before >= 0 && JSON_SPACE.has(body[before]!)) before--;
  const opening = body[before];
  return (opening === OPEN_BRACE || opening === COMMA) && body[skipSpace(body, at + length)] === COLON;
}

function skipSpace(body: Buffer, from: number): number {
  let at = from;
  while (at < body.length && JSON_SPACE.has(body[at]!)) at++;
  return at;
}

/** Tokens are a few hundred characters; a longer value is read by the SDK alone. */
const MAX_TOKEN_TEXT = 8192;

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array | string> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

async function collect(body: AsyncIterable<Uint8Array | string>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const all = Buffer.concat(chunks);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
}
