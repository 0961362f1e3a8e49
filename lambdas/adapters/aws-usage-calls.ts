import pLimit from 'p-limit';
import { describeAwsError } from './aws-errors';
import { AwsUsageReadError } from './errors';

/** A paginated answer reduced to its items and the token of the next page. */
export interface Page<T> {
  readonly items: readonly T[] | undefined;
  readonly next: string | undefined;
}

/**
 * The calls of one AWS service under `--aws-usage`: at most `concurrency` requests in flight (the
 * SDK's standard retries come on top, per request), and every failure turned into an
 * `AwsUsageReadError` that names the IAM action (`ecs:ListTasks`) and what it was about.
 *
 * Only single requests are limited, never a task that waits on other requests, so nesting cannot
 * deadlock.
 */
export class AwsUsageCalls {
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(
    private readonly service: 'ecs' | 'lambda' | 'events' | 'scheduler',
    concurrency = 4,
  ) {
    this.limit = pLimit(concurrency);
  }

  /** Sends one request; a failure names `service:operation` and the resource. */
  async call<T>(operation: string, resource: string | undefined, send: () => Promise<T>): Promise<T> {
    try {
      return await this.limit(send);
    } catch (error) {
      throw new AwsUsageReadError(describeAwsError(error, `${this.service}:${operation}`, resource), {
        cause: error,
      });
    }
  }

  /** Every item of a listing, page after page until the service gives no next token. */
  async listAll<P, T>(
    operation: string,
    resource: string | undefined,
    fetch: (token: string | undefined) => Promise<P>,
    read: (page: P) => Page<T>,
  ): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const page = read(await this.call(operation, resource, () => fetch(token)));
      items.push(...(page.items ?? []));
      // An empty or null token (some services send `"NextMarker": null`) ends the listing too.
      token = page.next ? page.next : undefined;
      if (token !== undefined && seen.has(token)) {
        const on = resource === undefined ? '' : ` on ${resource}`;
        throw new AwsUsageReadError(
          `${this.service}:${operation}${on} answered the same page token twice; the listing cannot be trusted`,
        );
      }
      if (token !== undefined) seen.add(token);
    } while (token !== undefined);
    return items;
  }
}

/** True when `error` (as `AwsUsageCalls` throws it) is one of the AWS error `codes`. */
export function isAwsError(error: unknown, codes: readonly string[]): boolean {
  const cause = error instanceof AwsUsageReadError ? error.cause : error;
  return cause instanceof Error && codes.includes(cause.name);
}

/**
 * Awaits every task, even when some fail, so that one unreadable cluster or function does not
 * hide another: throws the only failure as it is, or one `AwsUsageReadError` naming the first
 * three distinct failures and how many more there were.
 */
export async function settleAll<T>(tasks: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks);
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const messages = [...new Set(failures.map((error) => (error as Error).message ?? String(error)))];
    const more = messages.length > 3 ? `; and ${messages.length - 3} more` : '';
    throw new AwsUsageReadError(`${messages.slice(0, 3).join('; ')}${more}`, {
      cause: new AggregateError(failures),
    });
  }
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}
