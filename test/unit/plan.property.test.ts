/**
 * Invariants of the planner, the deletion schedule and the executor over random registries,
 * sightings, heartbeats and policies. The expectations (families, protections, stale clusters)
 * are computed here from the domain rules in DESIGN.md, independently of the core's own code.
 */
import fc from 'fast-check';
import { MAX_BATCH, scheduleDeletions } from '../../lambdas/core/deletion-schedule';
import { executePlan } from '../../lambdas/core/execute-plan';
import type { RegistryImage } from '../../lambdas/core/model';
import { type Plan, type PlanItem, planCleanup } from '../../lambdas/core/plan';
import type { DeleteResult, Registry } from '../../lambdas/core/ports';
import { type Scenario, scenarioArbitrary } from '../fixtures/arbitraries';

const RUNS = { numRuns: 200 };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const REFERRER_TAG = /^sha256-([a-f0-9]{64})(?:\.(?:sig|att|sbom))?$/;

const keyOf = (repository: string, digest: string) => `${repository}@${digest}`;

/** Every item of the plan by `repository@digest`. */
function itemsByKey(plan: Plan): Map<string, PlanItem> {
  const items = new Map<string, PlanItem>();
  for (const repository of plan.repositories)
    for (const item of repository.items) items.set(keyOf(item.repository, item.digest), item);
  return items;
}

/** The images of one repository, and how they hang together, as DESIGN.md "Families" says. */
class RepositoryModel {
  readonly byDigest: ReadonlyMap<string, RegistryImage>;
  /** digest → what it points to in the repository (an index its children, a referrer its subject). */
  readonly pointsTo = new Map<string, Set<string>>();
  /** digest → what points to it (its indexes, its referrers): each must be deleted before it. */
  readonly pointedBy = new Map<string, Set<string>>();
  /** digest → the members hanging from it in a family (an index's children, a subject's referrers). */
  readonly dependents = new Map<string, Set<string>>();
  /** Digests that have a parent (an index listing them, or a subject they refer to): not roots. */
  readonly hasParent = new Set<string>();
  readonly attestations = new Set<string>();
  /** root digest → every member of its family. */
  readonly families = new Map<string, Set<string>>();
  /** member digest → the roots whose family it is in. */
  readonly rootsOf = new Map<string, Set<string>>();

  constructor(
    readonly repository: string,
    readonly images: readonly RegistryImage[],
  ) {
    this.byDigest = new Map(images.map((image) => [image.digest, image]));
    for (const image of images) {
      for (const child of image.children ?? []) {
        if (child.attestation) this.attestations.add(child.digest);
        this.relate(image.digest, child.digest, image.digest);
      }
      const subjects = image.subject === undefined ? [] : [image.subject];
      for (const tag of image.tags) {
        const match = REFERRER_TAG.exec(tag);
        if (match) subjects.push(`sha256:${match[1]}`);
      }
      for (const subject of subjects) this.relate(image.digest, subject, subject);
    }
    for (const image of images) {
      if (this.hasParent.has(image.digest)) continue;
      const members = new Set([image.digest]);
      for (const member of members) for (const next of this.dependents.get(member) ?? []) members.add(next);
      this.families.set(image.digest, members);
      for (const member of members) link(this.rootsOf, member, image.digest);
    }
  }

  /** `from` points to `to` (deleted after it); `parent` is the one of them the other hangs from. */
  private relate(from: string, to: string, parent: string): void {
    if (from === to || !this.byDigest.has(to)) return;
    link(this.pointsTo, from, to);
    link(this.pointedBy, to, from);
    const child = parent === from ? to : from;
    link(this.dependents, parent, child);
    this.hasParent.add(child);
  }
}

function link(map: Map<string, Set<string>>, from: string, to: string): void {
  const set = map.get(from) ?? new Set<string>();
  set.add(to);
  map.set(from, set);
}

const withinDays = (at: Date, days: number, now: Date) => at.getTime() >= now.getTime() - days * DAY_MS;

/** `*` any run of characters, `?` one character; the only glob syntax the policies here use. */
function globMatches(glob: string, tag: string): boolean {
  const source = [...glob]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(tag);
}

/** Why an image itself must be kept (not counting its family), or undefined. */
function protectionOf(image: RegistryImage, model: RepositoryModel, scenario: Scenario): string | undefined {
  const { policy, now } = scenario;
  const hosts = scenario.registryHosts?.map((host) => host.toLowerCase());
  for (const { ref, observedAt, cluster } of scenario.sightings) {
    if (!withinDays(observedAt, policy.unusedDays, now)) continue;
    if (ref.digest === image.digest) return `digest seen in ${cluster} at ${observedAt.toISOString()}`;
    const hostMatches = hosts === undefined || hosts.includes(ref.registry);
    const tagOnly = ref.digest === undefined && ref.tag !== undefined;
    if (tagOnly && hostMatches && ref.repository === image.repository && image.tags.includes(ref.tag!)) {
      return `tag '${ref.tag}' seen in ${cluster} at ${observedAt.toISOString()}`;
    }
  }
  const pullMeansUse = !INDEX_TYPES.has(image.mediaType ?? '') && !model.attestations.has(image.digest);
  if (
    policy.usePullTime &&
    pullMeansUse &&
    image.lastPulledAt &&
    withinDays(image.lastPulledAt, policy.unusedDays, now)
  ) {
    return `pulled at ${image.lastPulledAt.toISOString()}`;
  }
  if (policy.minAgeDays > 0 && image.pushedAt.getTime() > now.getTime() - policy.minAgeDays * DAY_MS) {
    return `pushed at ${image.pushedAt.toISOString()}`;
  }
  const tag = image.tags.find((t) => policy.protectTags.some((glob) => globMatches(glob, t)));
  return tag === undefined ? undefined : `tag '${tag}' is protected`;
}

/**
 * Clusters silent for longer than `staleAfterHours` that reported the repository or one of its
 * digests, by a sighting or by their heartbeat's repositories.
 */
function staleClustersOf(model: RepositoryModel, scenario: Scenario): string[] {
  // A cluster's last report is its heartbeat's when it has one (a part's sightings must not make
  // a report whose other parts never came look whole); else its newest sighting's.
  const heartbeats = new Map(scenario.clusterReports.map((report) => [report.cluster, report]));
  const lastReport = new Map<string, number>();
  const note = (cluster: string, at: Date) =>
    lastReport.set(cluster, Math.max(lastReport.get(cluster) ?? -Infinity, at.getTime()));
  for (const sighting of scenario.sightings) {
    if (!heartbeats.has(sighting.cluster)) note(sighting.cluster, sighting.observedAt);
  }
  for (const report of scenario.clusterReports) note(report.cluster, report.lastReportAt);
  const limit = scenario.now.getTime() - scenario.policy.staleAfterHours * HOUR_MS;
  const isStale = (cluster: string) =>
    heartbeats.get(cluster)?.incomplete === true || lastReport.get(cluster)! < limit;
  const stale = new Set<string>();
  for (const { cluster, ref } of scenario.sightings) {
    const reported =
      ref.repository === model.repository || (ref.digest !== undefined && model.byDigest.has(ref.digest));
    if (reported && isStale(cluster)) stale.add(cluster);
  }
  for (const { cluster, repositories } of scenario.clusterReports) {
    if (repositories?.includes(model.repository) && isStale(cluster)) stale.add(cluster);
  }
  return [...stale].sort();
}

function modelsOf(scenario: Scenario): RepositoryModel[] {
  return scenario.repositories.map((listing) => new RepositoryModel(listing.repository, listing.images));
}

/** A registry that records every request and answers from a seeded hash of each digest. */
function flakyRegistry(seed: number, failPercent: number, throwPercent: number) {
  const calls: {
    repository: string;
    digests: string[];
    answers: Map<string, DeleteResult['status'] | 'none'>;
  }[] = [];
  const roll = (text: string) => hashOf(seed, text) % 100;
  const registry: Pick<Registry, 'deleteImages'> = {
    async deleteImages(repository, digests) {
      const answers = new Map<string, DeleteResult['status'] | 'none'>();
      calls.push({ repository, digests: [...digests], answers });
      if (roll(`${repository}/${digests.join()}`) < throwPercent) {
        for (const digest of digests) answers.set(digest, 'failed');
        throw new Error('ServerException: try again later');
      }
      const results: DeleteResult[] = [];
      for (const digest of digests) {
        const r = roll(`${repository}@${digest}`);
        if (r < failPercent) {
          answers.set(digest, 'failed');
          results.push({
            digest,
            status: 'failed',
            code: 'ImageReferencedByManifestList',
            message: 'in use',
          });
        } else if (r < failPercent + 5) {
          answers.set(digest, 'none');
        } else {
          const status = r % 7 === 0 ? 'gone' : 'deleted';
          answers.set(digest, status);
          results.push({ digest, status });
        }
      }
      return results;
    },
  };
  return { registry, calls };
}

describe('planCleanup, scheduleDeletions and executePlan over random registries', () => {
  it('never proposes an image that was seen, pulled, pushed recently or carries a protected tag', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const items = itemsByKey(planCleanup(scenario));
        const violations: object[] = [];
        for (const model of modelsOf(scenario)) {
          for (const image of model.images) {
            const { decision, reason } = items.get(keyOf(model.repository, image.digest))!;
            const protection = protectionOf(image, model, scenario);
            if (protection !== undefined && (decision !== 'keep' || !reason.startsWith('kept: '))) {
              violations.push({
                repository: model.repository,
                digest: image.digest,
                protection,
                decision,
                reason,
              });
            }
          }
        }
        expect(violations).toEqual([]);
      }),
      RUNS,
    );
  });

  it('keeps every member of a family when any member of it is protected', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const items = itemsByKey(planCleanup(scenario));
        const violations: object[] = [];
        for (const model of modelsOf(scenario)) {
          for (const [root, members] of model.families) {
            const protectedMember = [...members].find(
              (digest) => protectionOf(model.byDigest.get(digest)!, model, scenario) !== undefined,
            );
            if (protectedMember === undefined) continue;
            for (const member of members) {
              const { decision, reason } = items.get(keyOf(model.repository, member))!;
              if (decision !== 'keep') violations.push({ root, protectedMember, member, decision, reason });
            }
          }
        }
        expect(violations).toEqual([]);
      }),
      RUNS,
    );
  });

  it('decides a family whole: a member follows its root, a shared member is deleted only with all its roots', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const items = itemsByKey(planCleanup(scenario));
        const violations: object[] = [];
        for (const model of modelsOf(scenario)) {
          const decisionOf = (digest: string) => items.get(keyOf(model.repository, digest))!.decision;
          for (const image of model.images) {
            const roots = [...(model.rootsOf.get(image.digest) ?? [])];
            const item = items.get(keyOf(model.repository, image.digest))!;
            const expected = roots.every((root) => decisionOf(root) === 'delete') ? 'delete' : 'keep';
            if (roots.length === 0 || !roots.includes(item.root) || item.decision !== expected) {
              const rootDecisions = roots.map((root) => `${root}: ${decisionOf(root)}`);
              violations.push({
                digest: image.digest,
                rootDecisions,
                root: item.root,
                decision: item.decision,
              });
            }
          }
        }
        expect(violations).toEqual([]);
      }),
      RUNS,
    );
  });

  it('proposes nothing in a repository that a stale cluster reported from, and names the cluster', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const plan = planCleanup(scenario);
        modelsOf(scenario).forEach((model, i) => {
          const stale = staleClustersOf(model, scenario);
          if (stale.length === 0) return;
          const repositoryPlan = plan.repositories[i]!;
          expect(repositoryPlan.items.filter((item) => item.decision === 'delete')).toEqual([]);
          expect(repositoryPlan.blockedBy.map((blocked) => blocked.cluster)).toEqual(
            expect.arrayContaining(stale),
          );
        });
      }),
      RUNS,
    );
  });

  it('lists every image exactly once with one decision and a reason that says it', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), (scenario) => {
        const plan = planCleanup(scenario);
        scenario.repositories.forEach((listing, i) => {
          const repositoryPlan = plan.repositories[i]!;
          expect(repositoryPlan.repository).toBe(listing.repository);
          expect(repositoryPlan.totalImages).toBe(listing.images.length);
          const digests = repositoryPlan.items.map((item) => item.digest);
          expect([...digests].sort()).toEqual(listing.images.map((image) => image.digest).sort());
          const badReasons = repositoryPlan.items.filter((item) => {
            const prefix = { delete: 'delete: ', keep: 'kept: ' }[item.decision];
            return (
              item.repository !== listing.repository ||
              prefix === undefined ||
              !item.reason.startsWith(prefix) ||
              item.reason.trim().length <= prefix.length
            );
          });
          expect(badReasons).toEqual([]);
        });
      }),
      RUNS,
    );
  });

  it('schedules exactly the candidates, indexes and referrers in an earlier request than what they point to', () => {
    fc.assert(
      fc.property(scenarioArbitrary(), fc.integer({ min: 1, max: 4 }), (scenario, smallBatch) => {
        const items = planCleanup(scenario).repositories.flatMap((repository) => repository.items);
        const candidates = items
          .filter((item) => item.decision === 'delete')
          .map((i) => keyOf(i.repository, i.digest));
        for (const maxBatch of [MAX_BATCH, smallBatch]) {
          const batches =
            maxBatch === MAX_BATCH ? scheduleDeletions(items) : scheduleDeletions(items, maxBatch);
          const position = new Map<string, { step: number; batch: number }>();
          const violations: object[] = [];
          batches.forEach((batch, b) => {
            if (batch.items.length === 0 || batch.items.length > Math.min(maxBatch, 100)) {
              violations.push({ batch: b, size: batch.items.length, maxBatch });
            }
            for (const item of batch.items) {
              const key = keyOf(item.repository, item.digest);
              if (item.repository !== batch.repository || position.has(key)) {
                violations.push({
                  batch: b,
                  repository: batch.repository,
                  item: key,
                  twice: position.has(key),
                });
              }
              position.set(key, { step: batch.step, batch: b });
            }
          });
          expect(violations).toEqual([]);
          expect([...position.keys()].sort()).toEqual([...candidates].sort());
          for (const model of modelsOf(scenario)) {
            for (const [from, targets] of model.pointsTo) {
              const pointer = position.get(keyOf(model.repository, from));
              for (const target of targets) {
                const pointee = position.get(keyOf(model.repository, target));
                if (pointer === undefined || pointee === undefined) continue;
                if (pointer.step >= pointee.step || pointer.batch >= pointee.batch) {
                  violations.push({ repository: model.repository, from, pointer, target, pointee });
                }
              }
            }
          }
          expect(violations).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  it('executes only candidates, never a manifest before what points to it is gone, one outcome each', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArbitrary(),
        fc.nat(),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 20 }),
        async (scenario, seed, failPercent, throwPercent) => {
          // Prepare
          const plan = planCleanup(scenario);
          const items = itemsByKey(plan);
          const models = new Map(modelsOf(scenario).map((model) => [model.repository, model]));
          const { registry, calls } = flakyRegistry(seed, failPercent, throwPercent);

          // Act
          const outcomes = await executePlan(plan, registry);

          // Assess
          const answered = new Map<string, { call: number; status: string }>();
          const violations: object[] = [];
          calls.forEach(({ repository, digests, answers }, call) => {
            if (digests.length > 100) violations.push({ call, size: digests.length });
            const model = models.get(repository)!;
            for (const digest of digests) {
              const key = keyOf(repository, digest);
              const decision = items.get(key)?.decision;
              if (decision !== 'delete') violations.push({ call, key, decision });
              if (answered.has(key)) violations.push({ call, key, requestedAgainAfter: answered.get(key) });
              for (const pointer of model.pointedBy.get(digest) ?? []) {
                const before = answered.get(keyOf(repository, pointer));
                if (
                  before === undefined ||
                  before.call >= call ||
                  !['deleted', 'gone'].includes(before.status)
                ) {
                  violations.push({ call, key, pointer, pointerAnswer: before ?? 'never requested' });
                }
              }
            }
            for (const digest of digests) {
              answered.set(keyOf(repository, digest), { call, status: answers.get(digest)! });
            }
          });
          expect(violations).toEqual([]);
          const candidates = [...items.values()].filter((item) => item.decision === 'delete');
          const outcomeKeys = outcomes.map((outcome) => keyOf(outcome.item.repository, outcome.item.digest));
          expect([...outcomeKeys].sort()).toEqual(
            candidates.map((item) => keyOf(item.repository, item.digest)).sort(),
          );
          const wrongOutcomes = outcomes.flatMap((outcome) => {
            const answer = answered.get(keyOf(outcome.item.repository, outcome.item.digest))?.status;
            const expected =
              answer === undefined
                ? 'skipped'
                : answer === 'deleted' || answer === 'gone'
                  ? 'deleted'
                  : 'failed';
            return outcome.status === expected ? [] : [{ digest: outcome.item.digest, answer, outcome }];
          });
          expect(wrongOutcomes).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it('decides every image the same whatever order the registry lists the images in', () => {
    fc.assert(
      fc.property(reorderedScenario(), ([scenario, reordered]) => {
        const decisions = (plan: Plan) =>
          [...itemsByKey(plan)].map(([key, item]) => ({
            key,
            decision: item.decision,
            role: item.role,
            root: item.root,
            references: item.references,
          }));
        expect(decisions(planCleanup(reordered)).sort(byKey)).toEqual(
          decisions(planCleanup(scenario)).sort(byKey),
        );
      }),
      RUNS,
    );
  });

  it('produces the same plan, item order and reasons included, whatever order the registry lists the images in', () => {
    fc.assert(
      fc.property(reorderedScenario(), ([scenario, reordered]) => {
        expect(planCleanup(reordered)).toEqual(planCleanup(scenario));
      }),
      RUNS,
    );
  });
});

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** A scenario, and the same scenario with each repository's images listed in a seeded random order. */
function reorderedScenario(): fc.Arbitrary<[Scenario, Scenario]> {
  return fc.tuple(scenarioArbitrary(), fc.nat()).map(([scenario, seed]): [Scenario, Scenario] => {
    const rank = (image: RegistryImage) => hashOf(seed, image.digest);
    const shuffle = (images: readonly RegistryImage[]) => [...images].sort((a, b) => rank(a) - rank(b));
    const repositories = scenario.repositories.map((listing) => ({
      ...listing,
      images: shuffle(listing.images),
    }));
    return [scenario, { ...scenario, repositories }];
  });
}

/** FNV-1a of `text`, seeded: a stable pseudo-random number for shuffles and fault injection. */
function hashOf(seed: number, text: string): number {
  let hash = (2_166_136_261 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16_777_619) >>> 0;
  return hash;
}
