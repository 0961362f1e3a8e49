/**
 * Paginated list requests to the Kubernetes API (`limit` + `continue`), one page in memory at a
 * time. Raw JSON: the reporter reads a few fields and needs no typed models.
 */
import http, { type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { KubeApiError } from './errors';
import type { KubeConnection, KubeRequestOptions } from './kube-connection';
import {
  type Attempt,
  boundedSignal,
  DEFAULT_RETRY,
  type RetryPolicy,
  reasonOf,
  retryAfterMs,
  retrying,
} from './retry';
import type { WorkloadKind } from './workloads';

/** A list endpoint for every namespace, and how the ClusterRole names it. */
export interface KubeResource {
  readonly path: string;
  readonly resource: string;
  /** API group, '' for the core group. */
  readonly group: string;
}

export const POD_RESOURCE: KubeResource = { path: '/api/v1/pods', resource: 'pods', group: '' };

export const WORKLOAD_RESOURCES: Readonly<Record<WorkloadKind, KubeResource>> = {
  Deployment: { path: '/apis/apps/v1/deployments', resource: 'deployments', group: 'apps' },
  StatefulSet: { path: '/apis/apps/v1/statefulsets', resource: 'statefulsets', group: 'apps' },
  DaemonSet: { path: '/apis/apps/v1/daemonsets', resource: 'daemonsets', group: 'apps' },
  ReplicaSet: { path: '/apis/apps/v1/replicasets', resource: 'replicasets', group: 'apps' },
  Job: { path: '/apis/batch/v1/jobs', resource: 'jobs', group: 'batch' },
  CronJob: { path: '/apis/batch/v1/cronjobs', resource: 'cronjobs', group: 'batch' },
  ControllerRevision: {
    path: '/apis/apps/v1/controllerrevisions',
    resource: 'controllerrevisions',
    group: 'apps',
  },
};

/** Lists every object of a resource, handing each page's items to `onPage`; returns how many. */
export type ListAll = (
  resource: KubeResource,
  onPage: (items: readonly unknown[]) => void,
) => Promise<number>;

export interface ListOptions {
  /** @default 500 */
  readonly pageSize?: number;
  /**
   * A page whose answer outgrows this many bytes is dropped and asked for again with half as many
   * items (and the pages after it, and later lists of the resource, too): anyone who may create a
   * pod can make it ~1.5 MB, and 500 of them in one page would exhaust the reporter's memory.
   * @default 8 MiB
   */
  readonly pageBytes?: number;
  /** @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** How long one request may take, its whole answer included. @default 60000 */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
  /** When aborted, requests in flight are dropped and none is retried (the round's `--deadline`). */
  readonly deadline?: AbortSignal;
}

const DEFAULT_PAGE_BYTES = 8 * 1024 * 1024;

/** Of an answer other than 200 only its start is kept: enough for a `Status` message. */
const MAX_ERROR_BYTES = 64 * 1024;

/** What `getJson` answers for a page that outgrew its byte budget (the request is dropped). */
const TOO_LARGE = Symbol('too large');

/** A continue token the server no longer knows (410) restarts the listing, at most this often. */
const MAX_RESTARTS = 2;

const display = (resource: KubeResource) =>
  resource.group === '' ? resource.resource : `${resource.resource}.${resource.group}`;

/**
 * The items of a list page. An answer that is not a list (a proxy's or gateway's `{}`, a `Status`
 * from a wrong server path) is an error: read as an empty list it would report a cluster that
 * runs nothing, and every image it runs would look unused. A list may write no items as `null`.
 */
function listItems(page: Record<string, unknown>, resource: KubeResource): unknown[] {
  if (Array.isArray(page.items)) return page.items;
  if (page.items === null && typeof page.kind === 'string' && page.kind.endsWith('List')) return [];
  const kind = typeof page.kind === 'string' ? `kind ${page.kind.slice(0, 100)}` : 'no kind';
  throw new KubeApiError(
    `listing ${display(resource)}: the answer is not a list (${kind}, no items): check the API server's URL`,
    200,
  );
}

/** A `ListAll` over `connection`: pages of `pageSize`, retries on 429, 5xx and network errors. */
export function kubeLister(connection: KubeConnection, options: ListOptions = {}): ListAll {
  const log = options.log ?? (() => {});
  const pageBytes = options.pageBytes ?? DEFAULT_PAGE_BYTES;
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? 500));
  /** The page size each resource last worked with: a restart (410) or a later round keeps it. */
  const limits = new Map<string, number>();
  const listPages: ListAll = async (resource, onPage) => {
    let continueToken: string | undefined;
    let count = 0;
    for (;;) {
      const limit = limits.get(resource.path) ?? pageSize;
      const url = pageUrl(connection.server, resource, limit, continueToken);
      const page = await retrying(
        options.retry ?? DEFAULT_RETRY,
        () => getJson(connection, url, resource, options.timeoutMs ?? 60_000, pageBytes, options.deadline),
        (error, delayMs) => log(`${error.message}; retrying in ${delayMs} ms`),
        options.deadline,
      );
      if (page === TOO_LARGE) {
        if (limit <= 1) {
          throw new KubeApiError(
            `listing ${display(resource)}: one object's answer outgrows ${pageBytes} bytes`,
            200,
          );
        }
        const smaller = Math.ceil(limit / 2);
        limits.set(resource.path, smaller);
        log(
          `listing ${display(resource)}: a page outgrew ${pageBytes} bytes; asking for ${smaller} at a time`,
        );
        continue;
      }
      const items = listItems(page, resource);
      onPage(items);
      count += items.length;
      const metadata = page.metadata as { continue?: unknown } | undefined;
      continueToken =
        typeof metadata?.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
      if (continueToken === undefined) return count;
    }
  };
  return async (resource, onPage) => {
    for (let restart = 0; ; restart++) {
      try {
        return await listPages(resource, onPage);
      } catch (error) {
        if (!(error instanceof KubeApiError && error.status === 410 && restart < MAX_RESTARTS)) throw error;
        log(`listing ${display(resource)}: the continue token expired; listing again from the start`);
      }
    }
  };
}

/** `server` (its path kept, as behind a proxy) + the resource path + `limit` and `continue`. */
export function pageUrl(server: URL, resource: KubeResource, limit: number, continueToken?: string): URL {
  const url = new URL(server.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${resource.path}`;
  const query = new URLSearchParams({ limit: String(limit) });
  if (continueToken !== undefined) query.set('continue', continueToken);
  url.search = query.toString();
  return url;
}

type Page = Record<string, unknown>;

async function getJson(
  connection: KubeConnection,
  url: URL,
  resource: KubeResource,
  timeoutMs: number,
  maxBytes: number,
  deadline?: AbortSignal,
): Promise<Attempt<Page | typeof TOO_LARGE>> {
  let options: KubeRequestOptions;
  try {
    options = await connection.requestOptions();
  } catch (error) {
    const message = `listing ${display(resource)}: cannot authenticate: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false, error: new KubeApiError(message, undefined, { cause: error }), retryable: false };
  }
  const transport = url.protocol === 'http:' ? http : https;
  const headers: OutgoingHttpHeaders = { ...options.headers, Accept: 'application/json' };
  // The whole request, its answer included: an idle-socket timeout would wait for ever on an
  // answer trickled a byte at a time.
  const bound = boundedSignal(timeoutMs, deadline);
  return new Promise<Attempt<Page | typeof TOO_LARGE>>((resolve) => {
    const failed = (error: Error) => {
      let why: string | undefined;
      if (deadline?.aborted) why = reasonOf(deadline);
      else if (bound.signal.aborted) why = `no whole answer within ${timeoutMs} ms`;
      resolve(networkFailure(resource, why === undefined ? error : new Error(why, { cause: error })));
    };
    const request = transport.request(
      url,
      { ...options, method: 'GET', headers, signal: bound.signal },
      (response) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (response.statusCode !== 200) {
            // An error's answer: its start says what went wrong, and a proxy's huge page must not
            // cost memory.
            if (bytes - chunk.length < MAX_ERROR_BYTES) chunks.push(chunk);
            return;
          }
          if (bytes > maxBytes) {
            resolve({ ok: true, value: TOO_LARGE });
            request.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', failed);
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const retryAfter = retryAfterMs(response.headers['retry-after'] as string | undefined);
          resolve(pageAttempt(resource, response.statusCode ?? 0, body, retryAfter));
        });
      },
    );
    request.on('error', failed);
    request.end();
  }).finally(bound.release);
}

function networkFailure(resource: KubeResource, error: Error): Attempt<Page> {
  const code = (error as NodeJS.ErrnoException).code;
  const message = `listing ${display(resource)}: ${code ? `${code} ` : ''}${error.message}`;
  return { ok: false, error: new KubeApiError(message, undefined, { cause: error }), retryable: true };
}

function pageAttempt(
  resource: KubeResource,
  status: number,
  body: string,
  retryAfter?: number,
): Attempt<Page> {
  if (status === 200) {
    try {
      const page: unknown = JSON.parse(body);
      if (typeof page === 'object' && page !== null && !Array.isArray(page))
        return { ok: true, value: page as Page };
    } catch {
      // answered below as an unreadable page
    }
    const error = new KubeApiError(`listing ${display(resource)}: the answer is not a JSON list`, status);
    return { ok: false, error, retryable: true };
  }
  const error = new KubeApiError(
    `listing ${display(resource)}: ${status} ${statusMessage(body)}${hint(resource, status)}`,
    status,
  );
  const retryable = status === 429 || status >= 500;
  return { ok: false, error, retryable, ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) };
}

/** The `message` of a Kubernetes `Status` answer, else the start of the text. */
function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not a Status object
  }
  return body.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function hint(resource: KubeResource, status: number): string {
  if (status === 401)
    return ' (the credentials were refused: check the service account token or the kubeconfig)';
  if (status === 403) {
    const group = resource.group === '' ? 'the core group' : resource.group;
    return ` (the reporter's ClusterRole needs list on ${resource.resource} in ${group})`;
  }
  return '';
}
