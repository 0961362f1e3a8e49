import picomatch from 'picomatch';
import { type Family, type FamilyMember, pullMeansUse } from './image-family';
import type { Sighting } from './model';
import type { Policy } from './policy';
import type { SightingIndex } from './sighting-index';
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

/** The parts of a policy the protections read, compiled once per repository. */
export interface ProtectionContext {
  readonly policy: Policy;
  readonly sightings: SightingIndex;
  /** The registry's host names, for tag sightings; undefined matches tag sightings from any host. */
  readonly registryHosts?: ReadonlySet<string>;
  readonly now: Date;
  readonly isProtectedTag: (tag: string) => boolean;
}

/** Compiles the protected-tag globs of a policy. */
export function protectionContext(
  policy: Policy,
  sightings: SightingIndex,
  now: Date,
  registryHosts?: ReadonlySet<string>,
): ProtectionContext {
  const matchers = policy.protectTags.map((glob) => picomatch(glob, { dot: true }));
  return {
    policy,
    sightings,
    now,
    ...(registryHosts ? { registryHosts } : {}),
    isProtectedTag: (tag) => matchers.some((match) => match(tag)),
  };
}

/**
 * Finds what protects a family: a sighting within `unusedDays` (of any member's digest, or of a
 * tag that points to a member), a recorded pull within `unusedDays`, a push within `minAgeDays`,
 * or a protected tag, on any member. The first found, in that order, is the reason.
 */
export function familyUsage(family: Family, context: ProtectionContext): FamilyUsage {
  const { policy, now } = context;
  const lastSeen = newestSighting(family, context);
  let lastPulledAt: Date | undefined;
  for (const member of family.members) {
    const pulled = member.image.lastPulledAt;
    if (pulled && pullMeansUse(member) && (!lastPulledAt || pulled > lastPulledAt)) lastPulledAt = pulled;
  }
  const since = now.getTime() - policy.unusedDays * DAY_MS;
  const usage = { ...(lastSeen ? { lastSeen } : {}), ...(lastPulledAt ? { lastPulledAt } : {}) };
  if (lastSeen && lastSeen.sighting.observedAt.getTime() >= since) {
    return { ...usage, protection: `kept: ${seenText(lastSeen, family, now)}` };
  }
  if (policy.usePullTime && lastPulledAt && lastPulledAt.getTime() >= since) {
    return {
      ...usage,
      protection: `kept: pulled ${ago(lastPulledAt, now)} (within ${plural(policy.unusedDays, 'day')})`,
    };
  }
  const young = youngestPush(family);
  if (policy.minAgeDays > 0 && young.getTime() > now.getTime() - policy.minAgeDays * DAY_MS) {
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
  let best: FamilyUsage['lastSeen'];
  const consider = (sighting: Sighting | undefined, member: FamilyMember, byTag?: string) => {
    if (!sighting || (best && best.sighting.observedAt.getTime() >= sighting.observedAt.getTime())) return;
    best = byTag === undefined ? { sighting, member } : { sighting, member, byTag };
  };
  for (const member of family.members) {
    const { image } = member;
    consider(context.sightings.newestByDigest(image.digest), member);
    for (const tag of image.tags) {
      consider(context.sightings.newestByTag(image.repository, tag, context.registryHosts), member, tag);
    }
  }
  return best;
}

function youngestPush(family: Family): Date {
  let youngest = family.root.pushedAt;
  for (const { image } of family.members) if (image.pushedAt > youngest) youngest = image.pushedAt;
  return youngest;
}
