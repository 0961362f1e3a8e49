/**
 * Sends ingest bodies: signed (`X-Janitor-Signature`, a fresh `t` on every attempt), retried with
 * backoff on network errors, 408, 429 and 5xx; a 4xx answer is final and reported with the
 * server's message. Never logs the key or the signature.
 */
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { signatureHeader } from '../../lambdas/core/signature';
import type { IngestTarget } from './config';
import { IngestError } from './errors';
import {
  type Attempt,
  DEFAULT_RETRY,
  type RetryPolicy,
  requestSignal,
  retryAfterMs,
  retrying,
} from './retry';

export interface SendDeps {
  readonly now: () => Date;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** @default 30000 */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
  /** When aborted, the request in flight is dropped and none is retried (the round's `--deadline`). */
  readonly deadline?: AbortSignal;
}

/** What the ingest answered with its 202. */
export interface Delivery {
  readonly accepted?: number;
  readonly ignored?: number;
}

/** POSTs one raw body to `target.url`; resolves on 202, throws `IngestError` otherwise. */
export async function sendBody(rawBody: string, target: IngestTarget, deps: SendDeps): Promise<Delivery> {
  const log = deps.log ?? (() => {});
  return retrying(
    deps.retry ?? DEFAULT_RETRY,
    () => attemptSend(rawBody, target, deps),
    (error, delayMs) => log(`${error.message}; retrying in ${delayMs} ms`),
    deps.deadline,
  );
}

async function attemptSend(
  rawBody: string,
  target: IngestTarget,
  deps: SendDeps,
): Promise<Attempt<Delivery>> {
  const t = Math.floor(deps.now().getTime() / 1000);
  let response: Response;
  try {
    response = await (deps.fetch ?? fetch)(target.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Janitor-Signature': signatureHeader(hmacSha256Hex, target.key, t, rawBody),
      },
      body: rawBody,
      redirect: 'manual',
      signal: requestSignal(deps.timeoutMs ?? 30_000, deps.deadline),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return {
      ok: false,
      error: new IngestError(`POST ${target.url.host}: ${reason}`, undefined, { cause: error }),
      retryable: true,
    };
  }
  const text = await response.text().catch(() => '');
  if (response.status === 202) return { ok: true, value: deliveryOf(text) };
  const error = new IngestError(
    `POST ${target.url.host}: ${response.status} ${answerMessage(response, text)}`,
    response.status,
  );
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
  const retryAfter = retryAfterMs(response.headers.get('retry-after'));
  return { ok: false, error, retryable, ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) };
}

function deliveryOf(text: string): Delivery {
  try {
    const answer = JSON.parse(text) as { accepted?: unknown; ignored?: unknown };
    return {
      ...(typeof answer.accepted === 'number' ? { accepted: answer.accepted } : {}),
      ...(typeof answer.ignored === 'number' ? { ignored: answer.ignored } : {}),
    };
  } catch {
    return {};
  }
}

/** The server's `message` (or `error`) from a JSON answer, else the start of its text. */
function answerMessage(response: Response, text: string): string {
  if (response.status >= 300 && response.status < 400) {
    return `redirect to ${response.headers.get('location') ?? '(no location)'}: set JANITOR_ENDPOINT to the final URL`;
  }
  try {
    const answer = JSON.parse(text) as { message?: unknown; error?: unknown };
    if (typeof answer.message === 'string') return answer.message;
    if (typeof answer.error === 'string') return answer.error;
  } catch {
    // not JSON
  }
  const plain = text.replace(/\s+/g, ' ').trim().slice(0, 300);
  return plain === '' ? response.statusText : plain;
}
