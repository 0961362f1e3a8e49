/**
 * Exponential backoff with jitter, shared by the Kubernetes list requests and the ingest POSTs.
 */
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
 * last error. `onRetry` hears about each retry (for a log line).
 */
export async function retrying<T>(
  policy: RetryPolicy,
  attempt: (number: number) => Promise<Attempt<T>>,
  onRetry: (error: Error, delayMs: number) => void = () => {},
): Promise<T> {
  for (let number = 1; ; number++) {
    const result = await attempt(number);
    if (result.ok) return result.value;
    if (!result.retryable || number >= policy.attempts) throw result.error;
    const delayMs = backoffDelayMs(number, policy, result.retryAfterMs);
    onRetry(result.error, delayMs);
    await (policy.sleep ?? sleepMs)(delayMs);
  }
}

/** `Retry-After` in seconds (the HTTP-date form is ignored), as milliseconds. */
export function retryAfterMs(header: string | null | undefined): number | undefined {
  if (header == null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}
