import picomatch from 'picomatch';
import { type Family, type FamilyMember, pullMeansUse } from './image-family';
import type { Sighting } from './model';
import type { Policy } from './policy';
import { newestFromHosts, type SightingIndex } from './sighting-index';
import { ago, DAY_MS, plural, shortDigest } from './time-text';

/** What the planner knows of a family's use, whether or not it protects it. */
export interface FamilyUsage {
  /** The reason the family must be kept, when a protection applies (`kept: ...`). */
  readonly protection?: string;
  /** The newest sighting of any member, however old. */
  readonly lastSeen?: { readonly sighting: Sighting; readonly member: FamilyMember; readonly byTag?: string };
  /** The newest recorded pull of a member whose pull means use. */
  readonly lastPulledAt?: Date;
}

/** Never seen, never pulled, old enough, no protected tag to look for. */
const UNUSED: FamilyUsage = Object.freeze({});

/** The parts of a policy the protections read, compiled once per repository. */
export interface ProtectionContext {
  readonly policy: Policy;
  readonly sightings: SightingIndex;
  /** The registry's host names, for tag sightings; undefined matches tag sightings from any host. */
  readonly registryHosts?: ReadonlySet<string>;
  readonly now: Date;
  readonly isProtectedTag: (tag: string) => boolean;
  /** Tag sightings of the repository being planned (tag → host → sighting). */
  readonly tagSightings?: ReadonlyMap<string, ReadonlyMap<string, Sighting>>;
  /** Times in milliseconds: sightings and pulls since `seenSinceMs` protect; pushes after `youngAfterMs`. */
  readonly seenSinceMs: number;
  readonly youngAfterMs: number;
}

/** Compiles the protected-tag globs of a policy and picks the repository's tag sightings. */
export function protectionContext(
  policy: Policy,
  sightings: SightingIndex,
  now: Date,
  registryHosts: ReadonlySet<string> | undefined,
  repository: string,
): ProtectionContext {
  const patterns = policy.protectTags.map((glob) => picomatch.makeRe(glob, { dot: true }));
  const tagSightings = sightings.tagSightingsOf(repository);
  return {
    policy,
    sightings,
    now,
    ...(registryHosts ? { registryHosts } : {}),
    ...(tagSightings ? { tagSightings } : {}),
    isProtectedTag: (tag) => patterns.some((pattern) => pattern.test(tag)),
    seenSinceMs: now.getTime() - policy.unusedDays * DAY_MS,
    youngAfterMs:
      policy.minAgeDays > 0 ? now.getTime() - policy.minAgeDays * DAY_MS : Number.POSITIVE_INFINITY,
  };
}

/**
 * Finds what protects a family: a sighting within `unusedDays` (of any member's digest, or of a
 * tag that points to a member), a recorded pull within `unusedDays`, a push within `minAgeDays`,
 * or a protected tag, on any member. The first found, in that order, is the reason. A member whose
 * push time is unknown is protected whenever a minimum age applies.
 */
export function familyUsage(family: Family, context: ProtectionContext): FamilyUsage {
  const { policy, now } = context;
  const lastSeen = newestSighting(family, context);
  let pulledMs = Number.NEGATIVE_INFINITY;
  let youngestMs = Number.NEGATIVE_INFINITY;
  let unknownTime = false;
  for (const member of family.members) {
    const { image } = member;
    if (image.pushedAtSource === 'unknown') unknownTime = true;
    if (image.lastPulledAt && image.lastPulledAt.getTime() > pulledMs && pullMeansUse(member)) {
      pulledMs = image.lastPulledAt.getTime();
    }
    if (image.pushedAt.getTime() > youngestMs) youngestMs = image.pushedAt.getTime();
  }
  const lastPulledAt = pulledMs > Number.NEGATIVE_INFINITY ? new Date(pulledMs) : undefined;
  const ageUnknown = unknownTime && policy.minAgeDays > 0;
  if (
    !lastSeen &&
    !lastPulledAt &&
    !ageUnknown &&
    youngestMs <= context.youngAfterMs &&
    policy.protectTags.length === 0
  ) {
    return UNUSED;
  }
  const usage: { lastSeen?: NonNullable<FamilyUsage['lastSeen']>; lastPulledAt?: Date } = {};
  if (lastSeen) usage.lastSeen = lastSeen;
  if (lastPulledAt) usage.lastPulledAt = lastPulledAt;
  if (lastSeen && lastSeen.sighting.observedAt.getTime() >= context.seenSinceMs) {
    return { ...usage, protection: `kept: ${seenText(lastSeen, family, now)}` };
  }
  if (policy.usePullTime && lastPulledAt && pulledMs >= context.seenSinceMs) {
    return {
      ...usage,
      protection: `kept: pulled ${ago(lastPulledAt, now)} (within ${plural(policy.unusedDays, 'day')})`,
    };
  }
  if (ageUnknown) {
    return {
      ...usage,
      protection: `kept: push time unknown, so the minimum age (${plural(policy.minAgeDays, 'day')}) cannot be checked`,
    };
  }
  if (youngestMs > context.youngAfterMs) {
    const young = new Date(youngestMs);
    return {
      ...usage,
      protection: `kept: pushed ${ago(young, now)} (minimum age ${plural(policy.minAgeDays, 'day')})`,
    };
  }
  if (policy.protectTags.length > 0) {
    for (const member of family.members) {
      const tag = member.image.tags.find(context.isProtectedTag);
      if (tag !== undefined) return { ...usage, protection: `kept: tag '${tag}' is protected` };
    }
  }
  return usage;
}

/** Clusters named `aws:<service>` are the account's own services (ECS, Lambda), read at run time. */
export const AWS_USAGE_PREFIX = 'aws:';

/**
 * `seen in prod-eu 2 days ago (shop Deployment/web)`, naming the member when it is not the root;
 * for a sighting of an AWS service (`aws:ecs`, `aws:lambda`) the workload says it all:
 * `image of Lambda function api-handler version 14`.
 */
export function seenText(lastSeen: NonNullable<FamilyUsage['lastSeen']>, family: Family, now: Date): string {
  const { sighting, member, byTag } = lastSeen;
  const whose =
    member.image.digest === family.root.digest ? '' : ` (${member.role} ${shortDigest(member.image.digest)})`;
  if (sighting.cluster.startsWith(AWS_USAGE_PREFIX) && sighting.workload !== undefined) {
    return `image of ${sighting.workload}${byTag === undefined ? '' : ` (by tag '${byTag}')`}${whose}`;
  }
  const where = [sighting.namespace, sighting.workload].filter((part) => part !== undefined).join(' ');
  const what = byTag !== undefined ? `tag '${byTag}' ` : '';
  return `${what}seen in ${sighting.cluster} ${ago(sighting.observedAt, now)}${where === '' ? '' : ` (${where})`}${whose}`;
}

function newestSighting(family: Family, context: ProtectionContext): FamilyUsage['lastSeen'] {
  let best: Sighting | undefined;
  let bestMember: FamilyMember | undefined;
  let bestTag: string | undefined;
  for (const member of family.members) {
    const byDigest = context.sightings.newestByDigest(member.image.digest);
    if (byDigest && (!best || best.observedAt.getTime() < byDigest.observedAt.getTime())) {
      best = byDigest;
      bestMember = member;
      bestTag = undefined;
    }
    if (!context.tagSightings) continue;
    for (const tag of member.image.tags) {
      const byTag = newestFromHosts(context.tagSightings.get(tag), context.registryHosts);
      if (byTag && (!best || best.observedAt.getTime() < byTag.observedAt.getTime())) {
        best = byTag;
        bestMember = member;
        bestTag = tag;
      }
    }
  }
  if (!best || !bestMember) return undefined;
  return bestTag === undefined
    ? { sighting: best, member: bestMember }
    : { sighting: best, member: bestMember, byTag: bestTag };
}
