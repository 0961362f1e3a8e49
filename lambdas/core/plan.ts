import { applyDeleteRules, type RuleVerdict } from './delete-rules';
import { buildFamilies, listingFacts, type MemberRole } from './image-family';
import { canonicalRegistryHost } from './image-ref';
import type { ClusterReport, ImageId, PushedAtSource, RegistryImage, Sighting } from './model';
import { newestFirstOrder } from './newest-first';
import { type Decided, itemsOf } from './plan-items';
import type { Policy } from './policy';
import type { Registry } from './ports';
import {
  type FamilyUsage,
  nothingProtects,
  protectionContext,
  sightingWindowMs,
  unusedFamilies,
  usedFamilies,
} from './protections';
import { rootFacts } from './root-facts';
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
  /** Its last whole report; when `incomplete`, the newest part of a report it sent. */
  readonly lastReportAt: Date;
  /** It sent parts of reports, never a whole one (`ClusterReport.incomplete`). */
  readonly incomplete?: boolean;
  /** A part of a report newer than `lastReportAt` arrived then: it is not silent, bodies are lost. */
  readonly lastPartAt?: Date;
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
  | {
      readonly repository: string;
      readonly images: readonly RegistryImage[];
      /** The registry lists only what tags reach (OCI): sighted digests may be missing from `images`. */
      readonly partial?: boolean;
      /**
       * Sighted digests the registry was asked for while listing (see `sightedDigestsOf`): one of
       * them that is not in `images` is not in the registry.
       */
      readonly checkedDigests?: readonly string[];
    }
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
  // Each host as given and as references name it (Docker Hub's aliases are `docker.io`).
  const hosts = input.registryHosts
    ? new Set(input.registryHosts.flatMap((host) => [host.toLowerCase(), canonicalRegistryHost(host)]))
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
    const planned = planRepository({
      repository: listing.repository,
      images: listing.images,
      policy,
      sightings,
      now: input.now,
      ...(hosts ? { registryHosts: hosts } : {}),
    });
    return listing.partial ? keepSharedWithUnlisted(planned, listing, input, policy) : planned;
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
  const listing = listingFacts(images);
  const families = buildFamilies(images, listing);
  // The images of the families: a digest listed twice is one image holding what either listing
  // showed, and one manifest in the count.
  const { listed, prints } = families;
  const totalImages = listed.length;
  const sightings = input.sightings.forRepository(repository, listed, input.registryHosts, prints);
  const blockedBy = staleClusters(sightings.clusters, input.sightings, policy, now);
  const protection = protectionContext(policy, sightings, now);
  // With aws-ecr-gc's flags alone nothing can protect: every family is unused, none is looked at.
  const quiet = nothingProtects(protection, listed);
  const facts = rootFacts(families.roots, policy.rules.keep, quiet ? undefined : protection);
  const usages = quiet ? unusedFamilies(families.roots.length) : usedFamilies(families, protection, facts);
  const order = newestFirstOrder(families.roots, facts.times);
  const rules = { unusedDays: policy.unusedDays, now };
  const verdicts = applyDeleteRules(families.roots, policy.rules, rules, order, facts, (index) => {
    const below = families.belowAt(index);
    return below.length === 0 ? below : below.filter((member) => member.image.tags.length > 0);
  });
  const blocked = blockedBy.length > 0 ? blockedDecision(blockedBy, now) : undefined;
  const decisions: Decided[] = new Array(order.length);
  for (let k = 0; k < order.length; k++) {
    decisions[k] = decideRoot(verdicts[k]!, usages[order[k]!]!, blocked, now);
  }
  const items = oneItemPerImage(itemsOf(families, order, decisions), listed.length);
  return { repository, totalImages, items, blockedBy };
}

/** `blocked`: the decision of every candidate of a repository that stale clusters block. */
function decideRoot(
  verdict: RuleVerdict,
  usage: FamilyUsage,
  blocked: Decided | undefined,
  now: Date,
): Decided {
  if (usage.protection !== undefined) return { decision: 'keep', reason: usage.protection };
  if (verdict.decision === 'keep') return verdict;
  if (blocked) return blocked;
  if (!usage.lastSeen && !usage.lastPulledAt) return deletedUnseen(verdict);
  if (!usage.lastSeen && usage.lastPulledAt) return deletedPulledOnly(verdict, ago(usage.lastPulledAt, now));
  return { decision: 'delete', reason: `${verdict.reason}, ${usageText(usage, now)}` };
}

/** `last report 2 days ago`, or for a cluster that never sent a whole report, what it did send. */
export function lastReportText(stale: StaleCluster, when: string): string {
  if (stale.incomplete) return `no whole report yet, an unfinished one ${when}`;
  return stale.lastPartAt
    ? `last whole report ${when}, only parts of newer ones since`
    : `last report ${when}`;
}

/** Made once per repository: a silent cluster blocks every candidate of it alike. */
function blockedDecision(blockedBy: readonly StaleCluster[], now: Date): Decided {
  const names = blockedBy.map(
    (stale) => `${stale.cluster} (${lastReportText(stale, ago(stale.lastReportAt, now))})`,
  );
  return { decision: 'keep', reason: `kept: deletions blocked, no recent report from ${names.join(', ')}` };
}

const DELETED_UNSEEN = new WeakMap<RuleVerdict, Decided>();

/** One shared decision per rule for images never seen nor pulled (most candidates). */
const deletedUnseen = (verdict: RuleVerdict) => sharedDecision(DELETED_UNSEEN, verdict, unseenDecision);

const unseenDecision = (verdict: RuleVerdict): Decided => ({
  decision: 'delete',
  reason: `${verdict.reason}, never seen`,
});

const DELETED_PULLED = new WeakMap<RuleVerdict, Map<string, Decided>>();

/** One shared decision per rule and pull age (`2 days ago`) for images pulled but never seen. */
function deletedPulledOnly(verdict: RuleVerdict, pulledAgo: string): Decided {
  let byAge = DELETED_PULLED.get(verdict);
  if (!byAge) {
    byAge = new Map();
    DELETED_PULLED.set(verdict, byAge);
  }
  let decided = byAge.get(pulledAgo);
  if (!decided) {
    decided = { decision: 'delete', reason: `${verdict.reason}, never seen, last pulled ${pulledAgo}` };
    byAge.set(pulledAgo, decided);
  }
  return decided;
}

/** The decision cached for `verdict`, made once (`make` captures nothing: no closure per image). */
function sharedDecision(
  cache: WeakMap<RuleVerdict, Decided>,
  verdict: RuleVerdict,
  make: (verdict: RuleVerdict) => Decided,
): Decided {
  let decided = cache.get(verdict);
  if (!decided) {
    decided = make(verdict);
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

function staleClusters(
  reporting: ReadonlySet<string>,
  index: Pick<SightingIndex, 'lastReports' | 'incomplete' | 'lastParts'>,
  policy: Policy,
  now: Date,
): StaleCluster[] {
  const limit = now.getTime() - policy.staleAfterHours * HOUR_MS;
  const stale: StaleCluster[] = [];
  for (const cluster of [...reporting].sort()) {
    const lastReportAt = index.lastReports.get(cluster);
    if (!lastReportAt) continue;
    if (index.incomplete.has(cluster)) stale.push({ cluster, lastReportAt, incomplete: true });
    else if (lastReportAt.getTime() < limit) {
      const lastPartAt = index.lastParts.get(cluster);
      stale.push({ cluster, lastReportAt, ...(lastPartAt ? { lastPartAt } : {}) });
    }
  }
  return stale;
}

/**
 * The digests sighted in `repository` (any age): what a registry that lists only what tags reach
 * is asked to read too (`Registry.listImages`), so that a running untagged index is listed.
 */
export function sightedDigestsOf(sightings: readonly Sighting[], repository: string): string[] {
  const digests = new Set<string>();
  for (const { ref } of sightings) {
    if (ref.repository === repository && ref.digest !== undefined) digests.add(ref.digest);
  }
  return [...digests];
}

/**
 * What a listing from `registry` says of its completeness: nothing for a registry that lists every
 * manifest; otherwise that it is partial, and which sighted digests it was asked for.
 */
export function listingCompleteness(
  registry: Pick<Registry, 'listsEveryManifest'>,
  checkedDigests: readonly string[],
): { readonly partial?: true; readonly checkedDigests?: readonly string[] } {
  return registry.listsEveryManifest ? {} : { partial: true, checkedDigests };
}

/**
 * On a registry that lists only what tags reach, a running untagged index is invisible unless the
 * listing was asked for its digest: any manifest it lists could be deleted, whether it is a member
 * of a listed index or a root of its own (a tagged platform image, `1.0-amd64`). When a digest of
 * the repository was sighted recently, is not listed, and was not checked while listing (sighted
 * after it, as when the deleter reads sightings again), keep every candidate, saying why.
 */
function keepSharedWithUnlisted(
  planned: RepositoryPlan,
  listing: { readonly images: readonly RegistryImage[]; readonly checkedDigests?: readonly string[] },
  input: PlanCleanupInput,
  policy: Policy,
): RepositoryPlan {
  const known = new Set([...listing.images.map((image) => image.digest), ...(listing.checkedDigests ?? [])]);
  const since = input.now.getTime() - sightingWindowMs(policy);
  const unlisted = input.sightings.find(
    ({ ref, observedAt }) =>
      ref.repository === planned.repository &&
      ref.digest !== undefined &&
      !known.has(ref.digest) &&
      observedAt.getTime() >= since,
  );
  if (!unlisted?.ref.digest) return planned;
  const reason = `kept: ${shortDigest(unlisted.ref.digest)} runs in ${unlisted.cluster} but the registry cannot list it (untagged); it may share this manifest`;
  const items = planned.items.map((item) =>
    item.decision === 'delete' ? { ...item, decision: 'keep' as const, reason } : item,
  );
  return { ...planned, items };
}

/**
 * Every image once. Reference cycles (cosign tags naming each other) can reach one image from two
 * roots found while breaking the cycle; then the image keeps its first place and is kept if either
 * decision keeps it. `images` is the number of distinct images (not of listing entries: a digest
 * listed twice must not hide a duplicate item). Most repositories have no duplicate and pay nothing.
 */
function oneItemPerImage(items: PlanItem[], images: number): PlanItem[] {
  if (items.length <= images) return items;
  const first = new Map<string, number>();
  const out: PlanItem[] = [];
  for (const item of items) {
    const at = first.get(item.digest);
    if (at === undefined) {
      first.set(item.digest, out.length);
      out.push(item);
    } else if (item.decision === 'keep' && out[at]!.decision === 'delete') {
      out[at] = { ...out[at]!, decision: 'keep', reason: item.reason };
    }
  }
  return out;
}
