import { type Families, type FamilyMember, type MemberRole, pullMeansUse } from './image-family';
import { hasUnknownPushTime, isCreatedTime, type RegistryImage, type Sighting } from './model';
import { pushTimes } from './newest-first';
import type { Policy } from './policy';
import type { RootFacts } from './root-facts';
import type { RepositorySightings } from './sighting-index';
import { TagGlob } from './tag-glob';
import { ago, DAY_MS, HOUR_MS, plural, shortDigest } from './time-text';

/** What the planner knows of a family's use, whether or not it protects it. */
export interface FamilyUsage {
  /** The reason the family must be kept, when a protection applies (`kept: ...`). */
  readonly protection: string | undefined;
  /** The newest sighting of any member, however old. */
  readonly lastSeen: LastSeen | undefined;
  /** The newest recorded pull of a member whose pull means use. */
  readonly lastPulledAt: Date | undefined;
}

/** The newest sighting of a family: the member it names, and the tag it names that member by. */
export interface LastSeen {
  readonly sighting: Sighting;
  readonly image: RegistryImage;
  readonly role: MemberRole;
  readonly byTag?: string;
}

/** Never seen, never pulled, not protected (most families). */
export const UNUSED: FamilyUsage = Object.freeze({
  protection: undefined,
  lastSeen: undefined,
  lastPulledAt: undefined,
});

/** The parts of a policy the protections read, compiled once per repository. */
export interface ProtectionContext {
  readonly policy: Policy;
  /** The sightings of the repository's digests and tags. */
  readonly sightings: RepositorySightings;
  readonly now: Date;
  readonly protectedTags: readonly TagGlob[];
  /** Times in milliseconds: sightings and pulls since `seenSinceMs` protect; pushes after `youngAfterMs`. */
  readonly seenSinceMs: number;
  /** Recorded pulls since this time protect (`unusedDays`). */
  readonly pulledSinceMs: number;
  readonly youngAfterMs: number;
}

/**
 * How far back a sighting protects: `unusedDays`, but never less than what a cluster that is not
 * stale may still be running — everything in its latest report, sent within `staleAfterHours`,
 * whose stored `lastSeen` is refreshed at most once an hour. A short `unusedDays` (even 0) thus
 * never lets an image that a live cluster reported go.
 */
export function sightingWindowMs(policy: Pick<Policy, 'unusedDays' | 'staleAfterHours'>): number {
  return Math.max(policy.unusedDays * DAY_MS, (policy.staleAfterHours + 1) * HOUR_MS);
}

/** Compiles the protected-tag globs of a policy, for one repository's sightings. */
export function protectionContext(
  policy: Policy,
  sightings: RepositorySightings,
  now: Date,
): ProtectionContext {
  return {
    policy,
    sightings,
    now,
    protectedTags: compiledGlobs(policy.protectTags),
    seenSinceMs: now.getTime() - sightingWindowMs(policy),
    pulledSinceMs: now.getTime() - policy.unusedDays * DAY_MS,
    youngAfterMs:
      policy.minAgeDays > 0 ? now.getTime() - policy.minAgeDays * DAY_MS : Number.POSITIVE_INFINITY,
  };
}

/** Compiled protected-tag globs, by the policy's list: one policy usually serves every repository. */
const COMPILED = new WeakMap<readonly string[], readonly TagGlob[]>();

function compiledGlobs(globs: readonly string[]): readonly TagGlob[] {
  let patterns = COMPILED.get(globs);
  if (!patterns) {
    patterns = globs.map((glob) => new TagGlob(glob));
    COMPILED.set(globs, patterns);
  }
  return patterns;
}

/**
 * The usage of each family, parallel to `families.roots` (`UNUSED` for most). Families are
 * visited in listing order, which is the order the images lie in memory, whatever order they are
 * decided in. `facts`: the roots' `rootFacts`, when the caller has them already.
 */
export function usedFamilies(
  families: Families,
  context: ProtectionContext,
  facts?: Pick<RootFacts, 'times' | 'use'>,
): FamilyUsage[] {
  const { roots } = families;
  const times = facts?.times ?? pushTimes(roots);
  const usages: FamilyUsage[] = new Array(roots.length);
  for (let i = 0; i < roots.length; i++) {
    usages[i] = familyUsage(roots[i]!, families.belowAt(i), context, times[i], facts?.use[i]);
  }
  return usages;
}

/**
 * Whether nothing can show an image of `images` (one repository's listing) in use or protect it:
 * no sighting of the repository, no recorded pull (but an index's own), no minimum age, no
 * protected tag. Then every family is `UNUSED` and planning need not look family by family.
 * aws-ecr-gc's own flags give exactly this on an OCI registry (which records no pulls) and on ECR
 * repositories none of whose images was ever pulled.
 */
export function nothingProtects(context: ProtectionContext, images: readonly RegistryImage[]): boolean {
  const { sightings } = context;
  if (sightings.byImage.size > 0 || sightings.sightedTags > 0) return false;
  if (context.protectedTags.length > 0 || context.policy.minAgeDays > 0) return false;
  for (let i = 0; i < images.length; i++) {
    const image = images[i]!;
    // An index's own pull never means use: reading it is how any tool learns its children.
    if (image.lastPulledAt !== undefined && pullMeansUse(image, undefined)) return false;
  }
  return true;
}

/** `count` families, all `UNUSED` (see `nothingProtects`). */
export const unusedFamilies = (count: number): FamilyUsage[] => new Array<FamilyUsage>(count).fill(UNUSED);

/** What `rootUse` found of a root by itself: each bit, a kind of use or protection that may apply. */
const ROOT_USE = Object.freeze({ pulled: 1, seen: 2, young: 4, protectedTag: 8 });

/**
 * What could show `root` in use or protect it by itself (its members aside), as `ROOT_USE` bits: a
 * recorded pull; a sighting of its digest or of a tag that may be one of its own; a push within
 * the minimum age (or an unknown one while a minimum age applies); a protected tag. 0 when none
 * can: then a family of `root` alone is `UNUSED`. Each bit is found as `familyUsage` finds it, so
 * that `familyUsage` may skip what a clear bit rules out.
 */
export function rootUse(root: RegistryImage, pushedMs: number, context: ProtectionContext): number {
  const { sightings } = context;
  let use = root.lastPulledAt === undefined ? 0 : ROOT_USE.pulled;
  if (sightings.byImage.size > 0 && sightings.byImage.has(root)) use |= ROOT_USE.seen;
  else if (sightings.sightedTags > 0) {
    for (const tag of root.tags) {
      if (sightings.newestByTag(tag) === undefined) continue;
      use |= ROOT_USE.seen;
      break;
    }
  }
  if (ageProtection(root, pushedMs, NO_MEMBERS, context) !== undefined) use |= ROOT_USE.young;
  if (context.protectedTags.length > 0 && protectedTagOf(root, context.protectedTags) !== undefined) {
    use |= ROOT_USE.protectedTag;
  }
  return use;
}

const NO_MEMBERS: readonly FamilyMember[] = [];
const ALL_USES = ROOT_USE.pulled | ROOT_USE.seen | ROOT_USE.young | ROOT_USE.protectedTag;

/**
 * Finds what protects the family of `root` (with the members `below` it): a sighting within
 * `unusedDays` (of any member's digest, or of a tag that points to a member), a recorded pull
 * within `unusedDays`, a push within `minAgeDays`, or a protected tag, on any member. The first
 * found, in that order, is the reason. A family with a push time unknown (its root's, or a
 * platform image's) is protected whenever a minimum age applies. `use`: the root's `rootUse`, when known (it spares a root alone the
 * checks its clear bits rule out).
 */
export function familyUsage(
  root: RegistryImage,
  below: readonly FamilyMember[],
  context: ProtectionContext,
  rootPushedMs: number = root.pushedAt.getTime(),
  use?: number,
): FamilyUsage {
  // A root alone whose `rootUse` bit is clear has nothing to find of that kind.
  const may = below.length === 0 && use !== undefined ? use : ALL_USES;
  const lastSeen = may & ROOT_USE.seen ? newestSighting(root, below, context.sightings) : undefined;
  const lastPulledAt = may & ROOT_USE.pulled ? newestPull(root, below) : undefined;
  const protection =
    seenProtection(lastSeen, root, context) ??
    pullProtection(lastPulledAt, context) ??
    (may & ROOT_USE.young ? ageProtection(root, rootPushedMs, below, context) : undefined) ??
    (may & ROOT_USE.protectedTag ? tagProtection(root, below, context.protectedTags) : undefined);
  if (protection === undefined && !lastSeen && !lastPulledAt) return UNUSED;
  return { protection, lastSeen, lastPulledAt };
}

function seenProtection(
  lastSeen: LastSeen | undefined,
  root: RegistryImage,
  context: ProtectionContext,
): string | undefined {
  if (!lastSeen || !(lastSeen.sighting.observedAt.getTime() >= context.seenSinceMs)) return undefined;
  return `kept: ${seenText(lastSeen, root, context.now)}`;
}

function pullProtection(lastPulledAt: Date | undefined, context: ProtectionContext): string | undefined {
  const { policy, now } = context;
  if (!policy.usePullTime || !lastPulledAt || !(lastPulledAt.getTime() >= context.pulledSinceMs)) {
    return undefined;
  }
  return `kept: pulled ${ago(lastPulledAt, now)} (within ${plural(policy.unusedDays, 'day')})`;
}

/**
 * A push within `minAgeDays`, or a push time unknown while a minimum age applies. BuildKit
 * attestation manifests do not count (DESIGN.md: an index's push time ignores them; their configs
 * have no date), nor does a referrer without a push time (cosign writes 0001-01-01 into every
 * signature): read as unknown, they would keep every attested or signed image forever.
 */
function ageProtection(
  root: RegistryImage,
  rootPushedMs: number,
  below: readonly FamilyMember[],
  context: ProtectionContext,
): string | undefined {
  const { policy, now } = context;
  let youngestMs = laterMs(Number.NEGATIVE_INFINITY, rootPushedMs);
  let youngest = root;
  let unknownTime = hasUnknownPushTime(root, rootPushedMs);
  for (const { image, role, attestation } of below) {
    if (attestation === true) continue;
    if (hasUnknownPushTime(image)) {
      if (role !== 'referrer') unknownTime = true;
      continue;
    }
    const ms = image.pushedAt.getTime();
    if (ms > youngestMs) {
      youngestMs = ms;
      youngest = image;
    }
  }
  if (unknownTime && policy.minAgeDays > 0) {
    return `kept: push time unknown, so the minimum age (${plural(policy.minAgeDays, 'day')}) cannot be checked`;
  }
  if (!(youngestMs > context.youngAfterMs)) return undefined;
  // On an OCI registry the time is when the image was built: say so.
  const verb = isCreatedTime(youngest.pushedAtSource) ? 'created' : 'pushed';
  return `kept: ${verb} ${ago(new Date(youngestMs), now)} (minimum age ${plural(policy.minAgeDays, 'day')})`;
}

function tagProtection(
  root: RegistryImage,
  below: readonly FamilyMember[],
  patterns: readonly TagGlob[],
): string | undefined {
  if (patterns.length === 0) return undefined;
  let tag = protectedTagOf(root, patterns);
  for (let i = 0; tag === undefined && i < below.length; i++) tag = protectedTagOf(below[i]!.image, patterns);
  return tag === undefined ? undefined : `kept: tag '${tag}' is protected`;
}

function protectedTagOf(image: RegistryImage, patterns: readonly TagGlob[]): string | undefined {
  for (const tag of image.tags) {
    for (const pattern of patterns) if (pattern.test(tag)) return tag;
  }
  return undefined;
}

// biome-ignore lint/complexity/useMathMinMax: Math.max would make an invalid date (NaN) the youngest push.
const laterMs = (ms: number, pushedMs: number) => (pushedMs > ms ? pushedMs : ms);

/** The newest recorded pull of a member whose pull means use. */
function newestPull(root: RegistryImage, below: readonly FamilyMember[]): Date | undefined {
  let newest = laterPull(undefined, root, false);
  for (const { image, attestation } of below) newest = laterPull(newest, image, attestation);
  return newest;
}

/** The pull time of `image` when it means use and is later than `newest`; else `newest`. */
function laterPull(
  newest: Date | undefined,
  image: RegistryImage,
  attestation: boolean | undefined,
): Date | undefined {
  const pulledAt = image.lastPulledAt;
  if (!pulledAt || !(pulledAt.getTime() > (newest ? newest.getTime() : Number.NEGATIVE_INFINITY))) {
    return newest;
  }
  return pullMeansUse(image, attestation) ? pulledAt : newest;
}

/** Clusters named `aws:<service>` are the account's own services (ECS, Lambda), read at run time. */
export const AWS_USAGE_PREFIX = 'aws:';

/**
 * `seen in prod-eu 2 days ago (shop Deployment/web)`, naming the member when it is not the root;
 * for a sighting of an AWS service (`aws:ecs`, `aws:lambda`) the workload says it all:
 * `image of Lambda function api-handler version 14`.
 */
export function seenText(lastSeen: LastSeen, root: RegistryImage, now: Date): string {
  const { sighting, image, role, byTag } = lastSeen;
  const whose = image.digest === root.digest ? '' : ` (${role} ${shortDigest(image.digest)})`;
  if (sighting.cluster.startsWith(AWS_USAGE_PREFIX) && sighting.workload !== undefined) {
    return `image of ${sighting.workload}${byTag === undefined ? '' : ` (by tag '${byTag}')`}${whose}`;
  }
  const where = [sighting.namespace, sighting.workload].filter((part) => part !== undefined).join(' ');
  const what = byTag !== undefined ? `tag '${byTag}' ` : '';
  return `${what}seen in ${sighting.cluster} ${ago(sighting.observedAt, now)}${where === '' ? '' : ` (${where})`}${whose}`;
}

function newestSighting(
  root: RegistryImage,
  below: readonly FamilyMember[],
  sightings: RepositorySightings,
): LastSeen | undefined {
  if (sightings.byImage.size === 0 && sightings.sightedTags === 0) return undefined;
  let newest = newerSighting(undefined, root, 'root', sightings);
  for (const { image, role } of below) newest = newerSighting(newest, image, role, sightings);
  return newest;
}

/** A sighting of `image`, by its digest or then by each of its tags, newer than `newest`; else `newest`. */
function newerSighting(
  newest: LastSeen | undefined,
  image: RegistryImage,
  role: MemberRole,
  sightings: RepositorySightings,
): LastSeen | undefined {
  const byDigest = sightings.byImage.get(image);
  if (byDigest && isNewer(byDigest, newest)) newest = { sighting: byDigest, image, role };
  if (sightings.sightedTags === 0) return newest;
  for (const tag of image.tags) {
    const byTag = sightings.newestByTag(tag);
    if (byTag && isNewer(byTag, newest)) newest = { sighting: byTag, image, role, byTag: tag };
  }
  return newest;
}

const isNewer = (sighting: Sighting, than: LastSeen | undefined) =>
  !than || than.sighting.observedAt.getTime() < sighting.observedAt.getTime();
