/**
 * Exponential backoff with jitter, shared by the Kubernetes list requests and the ingest POSTs.
 */
import { once } from 'node:events';
import { setTimeout as sleepMs } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** 4 attempts, about 1 s, 2 s and 4 s apart. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 };

/** The result of one attempt: a value, or an error that may be worth another attempt. */
export type Attempt<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly error: Error;
      readonly retryable: boolean;
      readonly retryAfterMs?: number;
    };

/**
 * The wait before retry number `retry` (1 for the first retry): half of `base * 2^(retry-1)` fixed,
 * half random ("equal jitter"), capped at `maxDelayMs`; at least the server's `Retry-After`.
 */
export function backoffDelayMs(retry: number, policy: RetryPolicy, retryAfterMs = 0): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = exponential / 2 + ((policy.random ?? Math.random)() * exponential) / 2;
  return Math.round(Math.max(jittered, Math.min(retryAfterMs, policy.maxDelayMs)));
}

/**
 * Runs `attempt` until it succeeds, fails for good, or `policy.attempts` are used up; throws the
 * last error. `onRetry` hears about each retry (for a log line). Once `deadline` is aborted no
 * attempt starts and no wait goes on: the last error is thrown, with the deadline's reason.
 */
export async function retrying<T>(
  policy: RetryPolicy,
  attempt: (number: number) => Promise<Attempt<T>>,
  onRetry: (error: Error, delayMs: number) => void = () => {},
  deadline?: AbortSignal,
): Promise<T> {
  for (let number = 1; ; number++) {
    if (deadline?.aborted) throw new Error(reasonOf(deadline));
    const result = await attempt(number);
    if (result.ok) return result.value;
    if (!result.retryable || number >= policy.attempts) throw result.error;
    if (deadline?.aborted) throw pastDeadline(result.error, deadline);
    const delayMs = backoffDelayMs(number, policy, result.retryAfterMs);
    onRetry(result.error, delayMs);
    await pause(policy, delayMs, deadline);
    if (deadline?.aborted) throw pastDeadline(result.error, deadline);
  }
}

/** Waits `delayMs`, or less when `deadline` is aborted first. */
async function pause(policy: RetryPolicy, delayMs: number, deadline: AbortSignal | undefined): Promise<void> {
  if (!policy.sleep) {
    await sleepMs(delayMs, undefined, deadline ? { signal: deadline } : {}).catch(() => {});
  } else if (!deadline) {
    await policy.sleep(delayMs);
  } else if (!deadline.aborted) {
    await Promise.race([policy.sleep(delayMs), once(deadline, 'abort')]);
  }
}

/** The last error, saying that the deadline stopped the retries. */
function pastDeadline(error: Error, deadline: AbortSignal): Error {
  const reason = reasonOf(deadline);
  // A request the deadline itself aborted says so already.
  if (error.message.endsWith(reason)) return error;
  return new Error(`${error.message}; not retried: ${reason}`, { cause: error });
}

/** What an aborted `deadline` says. */
export function reasonOf(deadline: AbortSignal): string {
  const reason: unknown = deadline.reason;
  return reason instanceof Error ? reason.message : String(reason);
}

/** `Retry-After` in seconds (the HTTP-date form is ignored), as milliseconds. */
export function retryAfterMs(header: string | null | undefined): number | undefined {
  if (header == null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

/**
 * A request's signal: aborted after `timeoutMs`, or as soon as `deadline` is, with its reason.
 * (`AbortSignal.any` is not in every Node 20.)
 */
export function requestSignal(timeoutMs: number, deadline?: AbortSignal): AbortSignal {
  return boundedSignal(timeoutMs, deadline).signal;
}

/**
 * `requestSignal`, with `release` to call once the request is done: it detaches the signal from
 * `deadline`, which a round's many requests would otherwise each leave a listener on.
 */
export function boundedSignal(
  timeoutMs: number,
  deadline?: AbortSignal,
): { signal: AbortSignal; release: () => void } {
  const timeout = AbortSignal.timeout(timeoutMs);
  if (!deadline) return { signal: timeout, release: () => {} };
  if (deadline.aborted) return { signal: AbortSignal.abort(deadline.reason), release: () => {} };
  const controller = new AbortController();
  const released = new AbortController();
  const forward = (from: AbortSignal) => () => controller.abort(from.reason);
  timeout.addEventListener('abort', forward(timeout), { once: true, signal: released.signal });
  deadline.addEventListener('abort', forward(deadline), { once: true, signal: released.signal });
  controller.signal.addEventListener('abort', () => released.abort(), { once: true });
  return { signal: controller.signal, release: () => released.abort() };
}
