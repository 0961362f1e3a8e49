/**
 * Ingest bodies (`{cluster, observedAt, images}`, DESIGN.md) of at most 1 MiB each. Bodies are
 * built as the exact bytes that are signed and sent; an entry is never split across bodies.
 */
import { JanitorError } from '../../lambdas/core/errors';
import { MAX_REFERENCE } from '../../lambdas/core/image-ref';
import { MAX_NAMESPACE, MAX_ROUND_PARTS, MAX_WORKLOAD } from '../../lambdas/core/report-limits';
import type { ImageEntry } from './image-entries';

/** The ingest API refuses larger bodies (413). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** The body schema's limit on `images` (`clusterReportSchema`). */
export const MAX_ENTRIES_PER_BODY = 100_000;

export interface BodyOptions {
  readonly cluster: string;
  readonly observedAt: Date;
  /** @default MAX_BODY_BYTES */
  readonly maxBytes?: number;
}

/** An ISO 8601 time in UTC without milliseconds, as in the contract: `2026-11-22T18:00:00Z`. */
export function formatObservedAt(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One entry as JSON, keys in the contract's order (`image`, `imageID`, `namespace`, `workload`). */
function entryJson(entry: ImageEntry): string {
  return JSON.stringify({
    image: entry.image,
    ...(entry.imageID === undefined ? {} : { imageID: entry.imageID }),
    namespace: entry.namespace,
    workload: entry.workload,
  });
}

/**
 * The entries as the ingest can read them, each far smaller than a body. Anyone who may create a
 * pod can write its image, or its owner's name (the workload), megabytes long; sent as it is, one
 * such entry could outgrow a body on its own and stop every report of the cluster. So:
 * - an `image` longer than any reference is no sighting the ingest would record: its `imageID`
 *   (the digest the pod runs) stands in for it; without a usable one the entry is left out;
 * - an `imageID` longer than any reference is left out of its entry;
 * - a `namespace` or `workload` longer than the ingest keeps is cut to that length (it is only
 *   context: the sighting is the image's).
 * `problems` names each such entry, shortened.
 *
 * @example
 * readableEntries([{ image: 'x'.repeat(5000), imageID: 'web@sha256:…', namespace, workload }])
 * // { entries: [{ image: 'web@sha256:…', imageID: 'web@sha256:…', namespace, workload }], problems: [...] }
 */
export function readableEntries(entries: readonly ImageEntry[]): {
  entries: ImageEntry[];
  problems: string[];
} {
  const readable: ImageEntry[] = [];
  const problems: string[] = [];
  for (const listed of entries) {
    const entry = withShortContext(listed, problems);
    const idTooLong = entry.imageID !== undefined && entry.imageID.length > MAX_REFERENCE;
    const where = `${shorter(entry.namespace)} ${shorter(entry.workload)}`;
    if (idTooLong) {
      problems.push(
        `${where}: imageID ${shorter(entry.imageID!)} is ${entry.imageID!.length} characters long (a reference has at most ${MAX_REFERENCE}); left out`,
      );
    }
    const id = idTooLong ? undefined : entry.imageID;
    if (entry.image.length <= MAX_REFERENCE) {
      readable.push(idTooLong ? withoutImageId(entry) : entry);
      continue;
    }
    const what = `${where}: image ${shorter(entry.image)} is ${entry.image.length} characters long (a reference has at most ${MAX_REFERENCE})`;
    if (id !== undefined) {
      readable.push({ ...entry, image: id });
      problems.push(`${what}; sent as its imageID`);
    } else {
      problems.push(`${what}; left out`);
    }
  }
  return { entries: readable, problems };
}

/** `entry` with its namespace and workload cut to what the ingest keeps, each cut named in `problems`. */
function withShortContext(entry: ImageEntry, problems: string[]): ImageEntry {
  const { namespace, workload } = entry;
  if (namespace.length <= MAX_NAMESPACE && workload.length <= MAX_WORKLOAD) return entry;
  for (const [field, text, limit] of [
    ['namespace', namespace, MAX_NAMESPACE],
    ['workload', workload, MAX_WORKLOAD],
  ] as const) {
    if (text.length > limit)
      problems.push(
        `image ${shorter(entry.image)}: ${field} ${shorter(text)} is ${text.length} characters long (at most ${limit}); sent cut to ${limit}`,
      );
  }
  return { ...entry, namespace: cut(namespace, MAX_NAMESPACE), workload: cut(workload, MAX_WORKLOAD) };
}

const cut = (text: string, limit: number) => (text.length > limit ? `${text.slice(0, limit - 1)}…` : text);

function withoutImageId(entry: ImageEntry): ImageEntry {
  return { image: entry.image, namespace: entry.namespace, workload: entry.workload };
}

/** A text cut to 80 characters for a log line (`JSON.stringify`: control characters escaped). */
const shorter = (text: string) => JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);

/**
 * Splits `entries` into raw JSON bodies of at most `maxBytes` (UTF-8), all with the same
 * `cluster` and `observedAt`, in order; when there are several, each carries `round` (`part` of
 * `parts`). No entries still give one body: an empty report is the cluster's heartbeat.
 *
 * @example
 * splitIntoBodies(entries, { cluster: 'prod-eu', observedAt: now }) // ['{"cluster":"prod-eu",...}']
 */
export function splitIntoBodies(entries: readonly ImageEntry[], options: BodyOptions): string[] {
  const maxBytes = options.maxBytes ?? MAX_BODY_BYTES;
  const head = `{"cluster":${JSON.stringify(options.cluster)},"observedAt":${JSON.stringify(formatObservedAt(options.observedAt))},"images":[`;
  // Room for the longest `round` a body may end with.
  const emptyBytes = Buffer.byteLength(head + roundTail(MAX_ROUND_PARTS, MAX_ROUND_PARTS));
  const bodies: string[] = [];
  let parts: string[] = [];
  let bytes = emptyBytes;
  for (const entry of entries) {
    const json = entryJson(entry);
    const full = bytes + 1 + Buffer.byteLength(json) > maxBytes || parts.length >= MAX_ENTRIES_PER_BODY;
    if (parts.length > 0 && full) {
      bodies.push(head + parts.join(','));
      parts = [];
      bytes = emptyBytes;
    }
    const cost = Buffer.byteLength(json) + (parts.length > 0 ? 1 : 0);
    if (bytes + cost > maxBytes) {
      throw new JanitorError(`the image entry for ${shorter(entry.image)} alone exceeds ${maxBytes} bytes`);
    }
    parts.push(json);
    bytes += cost;
  }
  bodies.push(head + parts.join(','));
  if (bodies.length > MAX_ROUND_PARTS) {
    throw new JanitorError(
      `the report takes ${bodies.length} bodies of ${maxBytes} bytes, more than the ${MAX_ROUND_PARTS} one report may have`,
    );
  }
  // One body is a whole report. Several each say which part they are: the ingest takes the
  // report for the cluster's heartbeat only once all of them arrived.
  if (bodies.length === 1) return [`${bodies[0]!}]}`];
  return bodies.map((body, index) => body + roundTail(index + 1, bodies.length));
}

/** The end of a body that is part `part` of a report of `parts` bodies. */
function roundTail(part: number, parts: number): string {
  return `],"round":{"part":${part},"parts":${parts}}}`;
}
