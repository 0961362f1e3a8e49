import * as z from 'zod';
import { getOrCreate, keepLatest } from './collections';
import { ImageReferenceError, SightingsError } from './errors';
import { formatImageReference, MAX_REFERENCE, parseImageReference } from './image-ref';
import type { ClusterReport, ImageRef, Sighting } from './model';
import { MAX_NAMESPACE, MAX_ROUND_PARTS, MAX_WORKLOAD } from './report-limits';

// Strict objects: a misspelt key (`imageId` for `imageID`) would otherwise be dropped without a
// word, and the image it names would lose its protection.
// No length limits here: one entry too long to be a reference (anyone who may create a pod can
// write one) must not refuse the whole body, and with it the sightings of every other entry.
// Such an entry is ignored with its reason (`refsOfEntry`); the body itself is at most 1 MiB.
const imageEntry = z.strictObject({
  image: z.string(),
  imageID: z.string().optional(),
  namespace: z.string().optional(),
  workload: z.string().optional(),
});

/** The body a reporter sends to `POST /v1/sightings`, and the format of `gc --sightings` files. */
export const clusterReportSchema = z.strictObject({
  cluster: z
    .string()
    .min(1)
    .max(128)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
      'letters, digits and . _ : - only, starting with a letter or digit',
    )
    // `aws:ecs` and `aws:lambda` are the janitor's own readings of ECS and Lambda.
    .refine((name) => !name.toLowerCase().startsWith('aws:'), "names starting with 'aws:' are reserved"),
  observedAt: z.iso.datetime({ offset: true }),
  images: z.array(imageEntry).max(100_000),
  /**
   * Which body of a report this is, when the report takes several (every body of one report has
   * the report's `observedAt`): the report counts as the cluster's heartbeat only once all its
   * parts have arrived, so that a body lost on the way cannot look like a whole report. Absent:
   * the body is a whole report.
   */
  round: z
    .strictObject({ part: z.int().min(1), parts: z.int().min(1).max(MAX_ROUND_PARTS) })
    .refine((round) => round.part <= round.parts, 'part must be at most parts')
    .optional(),
});

/** How far a report's `observedAt` may be ahead of the clock reading it (clocks drift). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * How many minutes `observedAt` is ahead of `now`, when that is more than `MAX_CLOCK_SKEW_MS`;
 * undefined otherwise. Such a report is refused (by the ingest and by `gc --sightings`): taken as
 * now, it would keep its cluster looking alive for as long as its clock is ahead, and a report of
 * several bodies keyed on it would hold back every later one until then.
 */
export function minutesAhead(observedAt: Date, now: Date): number | undefined {
  const ahead = observedAt.getTime() - now.getTime();
  return ahead > MAX_CLOCK_SKEW_MS ? Math.round(ahead / 60_000) : undefined;
}

/**
 * Each cluster's last report among `bodies` (one entry per cluster): the newest `observedAt` of a
 * whole report, a body without `round` or every part of one. A cluster that sent only parts of
 * reports is `incomplete`, dated by its newest part: silence about the rest is not evidence.
 */
export function reportsOfBodies(
  bodies: readonly { readonly cluster: string; readonly observedAt: Date; readonly round?: RoundPart }[],
): ClusterReport[] {
  const parts = new Map<string, Set<number>>();
  const newestWhole = new Map<string, Date>();
  const newestPart = new Map<string, Date>();
  for (const { cluster, observedAt, round } of bodies) {
    keepLatest(newestPart, cluster, observedAt);
    if (round === undefined || round.parts === 1) {
      keepLatest(newestWhole, cluster, observedAt);
      continue;
    }
    const key = `${cluster}\u0000${observedAt.toISOString()}`;
    const seen = getOrCreate(parts, key, () => new Set<number>());
    seen.add(round.part);
    if (seen.size === round.parts) keepLatest(newestWhole, cluster, observedAt);
  }
  return [...newestPart].map(([cluster, at]) => {
    const whole = newestWhole.get(cluster);
    return whole ? { cluster, lastReportAt: whole } : { cluster, lastReportAt: at, incomplete: true };
  });
}

export type ClusterReportBody = z.infer<typeof clusterReportSchema>;
export type RoundPart = NonNullable<ClusterReportBody['round']>;

/** An image entry that could not be read, in whole or in part, with the reason. */
export interface IgnoredEntry {
  readonly image: string;
  readonly reason: string;
}

/**
 * Validates a parsed report body; throws a `SightingsError` naming the first bad field.
 *
 * @example
 * parseClusterReport(JSON.parse(body)) // throws "images.0.image: ..." on a bad entry
 */
export function parseClusterReport(value: unknown): ClusterReportBody {
  const result = clusterReportSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : 'body';
  throw new SightingsError(`${path}: ${issue?.message ?? 'invalid'}`);
}

/**
 * Turns a report into sightings. An entry's sighting carries the tag of `image` (a pod restart
 * pulls what the tag points to) and the digest of `imageID` (what the pod runs). What cannot be parsed is listed in `ignored` with its reason, never guessed; the
 * readable half of an entry (a good `image` with a bad `imageID`) is still recorded.
 */
export function sightingsFromReport(report: ClusterReportBody): {
  sightings: Sighting[];
  /** Entries read in part or not at all, with the reason. */
  ignored: IgnoredEntry[];
  /** Entries that gave no sighting at all. */
  unusable: number;
} {
  const observedAt = new Date(report.observedAt);
  const sightings: Sighting[] = [];
  const ignored: IgnoredEntry[] = [];
  let unusable = 0;
  for (const entry of report.images) {
    const refs = refsOfEntry(entry);
    if (refs.refs.length === 0) unusable++;
    const { context, problem } = contextOf(entry);
    const problems = [refs.problem, problem].filter((text) => text !== undefined);
    if (problems.length > 0) ignored.push({ image: shorter(entry.image), reason: problems.join('; ') });
    for (const ref of refs.refs) sightings.push({ cluster: report.cluster, ref, observedAt, ...context });
  }
  return { sightings, ignored, unusable };
}

/**
 * The references of one entry, and what could not be read (an entry may be usable in part). The
 * tag of `image` and the digest of `imageID` make one reference when they name the same
 * repository: the pod runs that digest, and its next start pulls what the tag points to.
 */
function refsOfEntry(entry: z.infer<typeof imageEntry>): { refs: ImageRef[]; problem?: string } {
  const problems: string[] = [];
  const image = tryParse(entry.image, problems, 'image');
  const id =
    entry.imageID === undefined || entry.imageID === ''
      ? undefined
      : tryParse(entry.imageID, problems, 'imageID');
  if (id && id.digest === undefined) problems.push(`imageID '${entry.imageID}' names no digest`);
  const refs: ImageRef[] = [];
  if (image) refs.push(image);
  if (id?.digest !== undefined) {
    const base = id.repository === '' && image ? image : id;
    const same = image && base.registry === image.registry && base.repository === image.repository;
    if (same && image.digest === undefined) refs[0] = { ...image, digest: id.digest };
    else if (!same || image.digest !== id.digest)
      refs.push({ registry: base.registry, repository: base.repository, digest: id.digest });
  }
  if (problems.length === 0) return { refs };
  const kept = refs.length > 0 ? ` (recorded: ${refs.map(formatImageReference).join(', ')})` : '';
  return { refs, problem: `${problems.join('; ')}${kept}` };
}

/** The namespace and workload kept with an entry's sightings; one too long is left out, saying so. */
function contextOf(entry: z.infer<typeof imageEntry>): {
  context: { namespace?: string; workload?: string };
  problem?: string;
} {
  const context: { namespace?: string; workload?: string } = {};
  const problems: string[] = [];
  const { namespace, workload } = entry;
  if (namespace !== undefined && namespace.length <= MAX_NAMESPACE) context.namespace = namespace;
  else if (namespace !== undefined)
    problems.push(`namespace longer than ${MAX_NAMESPACE} characters (left out)`);
  if (workload !== undefined && workload.length <= MAX_WORKLOAD) context.workload = workload;
  else if (workload !== undefined)
    problems.push(`workload longer than ${MAX_WORKLOAD} characters (left out)`);
  return problems.length === 0 ? { context } : { context, problem: problems.join('; ') };
}

/** A text cut to 200 characters for a message. */
const shorter = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

function tryParse(text: string, problems: string[], field: 'image' | 'imageID'): ImageRef | undefined {
  if (text.length > MAX_REFERENCE) {
    problems.push(`${field} is ${text.length} characters long; a reference has at most ${MAX_REFERENCE}`);
    return undefined;
  }
  try {
    return parseImageReference(text);
  } catch (error) {
    if (error instanceof ImageReferenceError) {
      problems.push(error.message);
      return undefined;
    }
    throw error;
  }
}
