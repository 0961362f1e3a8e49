import { applyDeleteRules, type RuleVerdict } from './delete-rules';
import { buildFamilies, type Family, type MemberRole } from './image-family';
import type { ClusterReport, ImageId, PushedAtSource, RegistryImage, Sighting } from './model';
import type { Policy } from './policy';
import { type FamilyUsage, familyUsage, protectionContext } from './protections';
import { indexSightings, type SightingIndex } from './sighting-index';
import { ago, HOUR_MS, shortDigest } from './time-text';

export type Decision = 'keep' | 'delete';

/** One manifest of a plan, with its one decision and one human reason. */
export interface PlanItem extends ImageId {
  readonly tags: readonly string[];
  readonly pushedAt: Date;
  readonly pushedAtSource?: PushedAtSource;
  readonly sizeBytes: number;
  readonly mediaType?: string;
  readonly role: MemberRole;
  /** The digest of the family root this item follows (its own digest for a root). */
  readonly root: string;
  /** Digests in the repository this manifest points to (children, subject): deleted after it. */
  readonly references: readonly string[];
  readonly decision: Decision;
  readonly reason: string;
}

/** A cluster whose silence blocks deletions. */
export interface StaleCluster {
  readonly cluster: string;
  readonly lastReportAt: Date;
}

export interface RepositoryPlan {
  readonly repository: string;
  /** Every manifest in the repository, children and referrers included. */
  readonly totalImages: number;
  /** Every manifest once, family by family, newest root first. */
  readonly items: readonly PlanItem[];
  /** Stale clusters that reported from this repository: no deletion is proposed while any is listed. */
  readonly blockedBy: readonly StaleCluster[];
  /** Why the repository could not be planned (listing failed): nothing in it is deleted. */
  readonly error?: string;
}

export interface Plan {
  readonly createdAt: Date;
  readonly repositories: readonly RepositoryPlan[];
}

/** A repository as listed, or the reason it could not be listed. */
export type RepositoryListing =
  | { readonly repository: string; readonly images: readonly RegistryImage[] }
  | { readonly repository: string; readonly error: string };

export interface PlanCleanupInput {
  readonly repositories: readonly RepositoryListing[];
  readonly sightings: readonly Sighting[];
  /** Cluster heartbeats beyond what the sightings show. */
  readonly clusterReports?: readonly ClusterReport[];
  readonly policy: Policy | ((repository: string) => Policy);
  /** The registry's host names, for matching tag sightings; undefined matches any host. */
  readonly registryHosts?: readonly string[];
  readonly now: Date;
}

/**
 * Decides every image of every repository: protections first (sightings, pulls, age, protected
 * tags, stale clusters), then the delete rules, and keep when no rule selects an image. A family
 * is decided by its root; a member shared by several families is deleted only when all are.
 *
 * @example
 * const plan = planCleanup({ repositories: [{ repository: 'web', images }], sightings, policy, now });
 * plan.repositories[0].items.filter((item) => item.decision === 'delete');
 */
export function planCleanup(input: PlanCleanupInput): Plan {
  const sightings = indexSightings(input.sightings, input.clusterReports);
  const hosts = input.registryHosts
    ? new Set(input.registryHosts.map((host) => host.toLowerCase()))
    : undefined;
  const policyFor = typeof input.policy === 'function' ? input.policy : () => input.policy as Policy;
  const repositories = input.repositories.map((listing): RepositoryPlan => {
    if ('error' in listing) {
      return {
        repository: listing.repository,
        totalImages: 0,
        items: [],
        blockedBy: [],
        error: listing.error,
      };
    }
    const policy = policyFor(listing.repository);
    return planRepository({
      ...listing,
      policy,
      sightings,
      now: input.now,
      ...(hosts ? { registryHosts: hosts } : {}),
    });
  });
  return { createdAt: input.now, repositories };
}

export interface PlanRepositoryInput {
  readonly repository: string;
  readonly images: readonly RegistryImage[];
  readonly policy: Policy;
  readonly sightings: SightingIndex;
  readonly registryHosts?: ReadonlySet<string>;
  readonly now: Date;
}

/** Plans one repository (see `planCleanup`). */
export function planRepository(input: PlanRepositoryInput): RepositoryPlan {
  const { repository, images, policy, now } = input;
  const families = sortedNewestFirst(buildFamilies(images));
  const blockedBy = staleClusters(input);
  const verdicts = applyDeleteRules(
    families.map((family) => family.root),
    policy.rules,
    { unusedDays: policy.unusedDays, now },
  );
  const context = protectionContext(policy, input.sightings, now, input.registryHosts, repository);
  const decisions = families.map((family, index) =>
    decideRoot(verdicts[index]!, familyUsage(family, context), blockedBy, now),
  );
  return { repository, totalImages: images.length, items: itemsOf(families, decisions), blockedBy };
}

/** Families by their root, newest push first, ties broken by digest (deterministic plans). */
function sortedNewestFirst(families: Family[]): Family[] {
  const keyed = families.map((family) => ({
    family,
    at: family.root.pushedAt.getTime(),
    digest: family.root.digest,
  }));
  keyed.sort((a, b) => b.at - a.at || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return keyed.map((entry) => entry.family);
}

function decideRoot(
  verdict: RuleVerdict,
  usage: FamilyUsage,
  blockedBy: readonly StaleCluster[],
  now: Date,
): { decision: Decision; reason: string } {
  if (usage.protection !== undefined) return { decision: 'keep', reason: usage.protection };
  if (!verdict.candidate) return keptBy(verdict);
  if (blockedBy.length > 0) {
    const names = blockedBy.map((stale) => `${stale.cluster} (last report ${ago(stale.lastReportAt, now)})`);
    return { decision: 'keep', reason: `kept: deletions blocked, no recent report from ${names.join(', ')}` };
  }
  if (!usage.lastSeen && !usage.lastPulledAt) return deletedUnseen(verdict);
  return { decision: 'delete', reason: `${verdict.reason}, ${usageText(usage, now)}` };
}

const DELETED_UNSEEN = new WeakMap<RuleVerdict, Decided>();
const KEPT_BY_RULE = new WeakMap<RuleVerdict, Decided>();

/** One shared decision per rule for images never seen nor pulled (most candidates). */
const deletedUnseen = (verdict: RuleVerdict) =>
  sharedDecision(DELETED_UNSEEN, verdict, () => ({
    decision: 'delete',
    reason: `${verdict.reason}, never seen`,
  }));

/** One shared decision per kept-by-rule verdict (most kept images share a handful). */
const keptBy = (verdict: RuleVerdict) =>
  sharedDecision(KEPT_BY_RULE, verdict, () => ({ decision: 'keep', reason: verdict.reason }));

function sharedDecision(
  cache: WeakMap<RuleVerdict, Decided>,
  verdict: RuleVerdict,
  make: () => Decided,
): Decided {
  let decided = cache.get(verdict);
  if (!decided) {
    decided = make();
    cache.set(verdict, decided);
  }
  return decided;
}

function usageText(usage: FamilyUsage, now: Date): string {
  const seen = usage.lastSeen
    ? `last seen in ${usage.lastSeen.sighting.cluster} ${ago(usage.lastSeen.sighting.observedAt, now)}`
    : 'never seen';
  return usage.lastPulledAt ? `${seen}, last pulled ${ago(usage.lastPulledAt, now)}` : seen;
}

function staleClusters(input: PlanRepositoryInput): StaleCluster[] {
  const limit = input.now.getTime() - input.policy.staleAfterHours * HOUR_MS;
  const reporting = input.sightings.clustersReporting(
    input.repository,
    input.images.map((image) => image.digest),
  );
  const stale: StaleCluster[] = [];
  for (const cluster of [...reporting].sort()) {
    const lastReportAt = input.sightings.lastReports.get(cluster);
    if (lastReportAt && lastReportAt.getTime() < limit) stale.push({ cluster, lastReportAt });
  }
  return stale;
}

type Decided = { decision: Decision; reason: string };

function itemsOf(families: readonly Family[], decisions: readonly Decided[]): PlanItem[] {
  const shared = sharedMembers(families);
  const keptBy = new Map<string, string>();
  if (shared.size > 0) {
    families.forEach((family, index) => {
      if (decisions[index]!.decision !== 'keep') return;
      for (const { image } of family.members) {
        if (shared.has(image.digest) && !keptBy.has(image.digest))
          keptBy.set(image.digest, family.root.digest);
      }
    });
  }
  const items: PlanItem[] = [];
  const emitted = new Set<string>();
  families.forEach((family, index) => {
    const own = decisions[index]!;
    for (const member of family.members) {
      const { image } = member;
      let decided = own;
      if (member.role !== 'root') {
        const isShared = shared.has(image.digest);
        if (isShared && emitted.has(image.digest)) continue;
        if (isShared) emitted.add(image.digest);
        const keeper = isShared
          ? keptBy.get(image.digest)
          : own.decision === 'keep'
            ? family.root.digest
            : undefined;
        decided = memberDecision(
          member.role,
          family.root,
          keeper,
          own.decision === 'delete' && keeper === undefined,
        );
      }
      items.push(toItem(image, member.role, family.root.digest, member.references, decided));
    }
  });
  return items;
}

/** Digests that are members of more than one family (a platform manifest shared by two indexes). */
function sharedMembers(families: readonly Family[]): ReadonlySet<string> {
  const seen = new Set<string>();
  const shared = new Set<string>();
  for (const family of families) {
    for (let i = 1; i < family.members.length; i++) {
      const digest = family.members[i]!.image.digest;
      if (seen.has(digest)) shared.add(digest);
      else seen.add(digest);
    }
  }
  return shared;
}

function memberDecision(
  role: MemberRole,
  root: RegistryImage,
  keeper: string | undefined,
  deleted: boolean,
): { decision: Decision; reason: string } {
  const what = role === 'child' ? 'part of' : 'referrer of';
  const rootText = `${shortDigest(root.digest)} [${root.tags.join(', ')}]`;
  if (deleted) return { decision: 'delete', reason: `delete: ${what} ${rootText}, deleted with it` };
  if (keeper === undefined || keeper === root.digest) {
    return { decision: 'keep', reason: `kept: ${what} ${rootText}, which is kept` };
  }
  return { decision: 'keep', reason: `kept: also belongs to ${shortDigest(keeper)}, which is kept` };
}

function toItem(
  image: RegistryImage,
  role: MemberRole,
  root: string,
  references: readonly string[],
  decided: Decided,
): PlanItem {
  const item: { -readonly [K in keyof PlanItem]: PlanItem[K] } = {
    repository: image.repository,
    digest: image.digest,
    tags: image.tags,
    pushedAt: image.pushedAt,
    sizeBytes: image.sizeBytes,
    role,
    root,
    references,
    decision: decided.decision,
    reason: decided.reason,
  };
  if (image.pushedAtSource !== undefined) item.pushedAtSource = image.pushedAtSource;
  if (image.mediaType !== undefined) item.mediaType = image.mediaType;
  return item;
}

/** Newest push first; ties broken by digest, so that plans are deterministic. */
export function newestFirst(a: RegistryImage, b: RegistryImage): number {
  const diff = b.pushedAt.getTime() - a.pushedAt.getTime();
  if (diff !== 0) return diff;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** Counts of a repository plan, for summaries. */
export function countDecisions(plan: RepositoryPlan): { delete: number; keep: number; deleteBytes: number } {
  let toDelete = 0;
  let deleteBytes = 0;
  for (const item of plan.items) {
    if (item.decision === 'delete') {
      toDelete++;
      deleteBytes += item.sizeBytes;
    }
  }
  return { delete: toDelete, keep: plan.items.length - toDelete, deleteBytes };
}
