/**
 * Ingest bodies (`{cluster, observedAt, images}`, DESIGN.md) of at most 1 MiB each. Bodies are
 * built as the exact bytes that are signed and sent; an entry is never split across bodies.
 */
import { JanitorError } from '../../lambdas/core/errors';
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
 * Splits `entries` into raw JSON bodies of at most `maxBytes` (UTF-8), all with the same
 * `cluster` and `observedAt`, in order. No entries still give one body: an empty report is the
 * cluster's heartbeat.
 *
 * @example
 * splitIntoBodies(entries, { cluster: 'prod-eu', observedAt: now }) // ['{"cluster":"prod-eu",...}']
 */
export function splitIntoBodies(entries: readonly ImageEntry[], options: BodyOptions): string[] {
  const maxBytes = options.maxBytes ?? MAX_BODY_BYTES;
  const head = `{"cluster":${JSON.stringify(options.cluster)},"observedAt":${JSON.stringify(formatObservedAt(options.observedAt))},"images":[`;
  const tail = ']}';
  const emptyBytes = Buffer.byteLength(head + tail);
  const bodies: string[] = [];
  let parts: string[] = [];
  let bytes = emptyBytes;
  for (const entry of entries) {
    const json = entryJson(entry);
    const full = bytes + 1 + Buffer.byteLength(json) > maxBytes || parts.length >= MAX_ENTRIES_PER_BODY;
    if (parts.length > 0 && full) {
      bodies.push(head + parts.join(',') + tail);
      parts = [];
      bytes = emptyBytes;
    }
    const cost = Buffer.byteLength(json) + (parts.length > 0 ? 1 : 0);
    if (bytes + cost > maxBytes) {
      throw new JanitorError(`the image entry for '${entry.image}' alone exceeds ${maxBytes} bytes`);
    }
    parts.push(json);
    bytes += cost;
  }
  bodies.push(head + parts.join(',') + tail);
  return bodies;
}
