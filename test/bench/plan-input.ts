/**
 * The input of the planning benchmark: 100 repositories × 10,000 manifests as the ECR adapter
 * hands them to the core, 50,000 sightings as `sightingsFromReport` makes them, and a policy with
 * every kind of rule and protection. Deterministic (seeded), so that runs compare.
 *
 * Per repository: 500 multi-arch families (5% of the 10,000 entries are index roots) of an index
 * with 2 platform children, every other one with 1 BuildKit attestation child as well; 150 cosign
 * signatures (`sha256-<hex>.sig`) and 50 OCI referrers (`subject`) of other images; the rest
 * single-platform images. Children and referrers count toward the 10,000.
 */

import {
  type ClusterReport,
  type IndexChild,
  type RegistryImage,
  registryImage,
  type Sighting,
} from '../../lambdas/core/model';
import type { RepositoryListing } from '../../lambdas/core/plan';
import { DEFAULT_POLICY, type Policy, parseKeepRule, validatePolicy } from '../../lambdas/core/policy';

export const BENCH_NOW = new Date('2026-11-22T12:00:00Z');
export const REGISTRY_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

const DAY_MS = 86_400_000;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const COSIGN_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SBOM_TYPE = 'application/spdx+json';
const IN_TOTO_TYPE = 'application/vnd.in-toto+json';
const CLUSTERS = ['prod-eu', 'prod-us', 'staging'] as const;

export interface PlanInputShape {
  readonly repositories: number;
  readonly imagesPerRepository: number;
  /** Index roots per repository, as a share of its images. */
  readonly familyShare: number;
  readonly cosignPerRepository: number;
  readonly ociReferrersPerRepository: number;
  readonly sightings: number;
}

export const PLAN_INPUT_SHAPE: PlanInputShape = {
  repositories: 100,
  imagesPerRepository: 10_000,
  familyShare: 0.05,
  cosignPerRepository: 150,
  ociReferrersPerRepository: 50,
  sightings: 50_000,
};

/** Sightings by what their reference names. */
export interface SightingKinds {
  /** An entry with `image: repo:tag` and `imageID: repo@digest` (one sighting with both). */
  tagAndDigest: number;
  digestOnly: number;
  /** Includes the sightings of images from other registries. */
  tagOnly: number;
}

export interface PlanInput {
  readonly repositories: RepositoryListing[];
  readonly sightings: Sighting[];
  readonly clusterReports: ClusterReport[];
  readonly policy: Policy;
  readonly registryHosts: string[];
  readonly now: Date;
  readonly counts: {
    readonly images: number;
    readonly indexes: number;
    readonly children: number;
    readonly attestations: number;
    readonly referrers: number;
    readonly sightings: SightingKinds;
  };
}

/** The policy of the benchmark: `keep build=20`, deleteUntagged, unusedTagged, protectTags, minAgeDays. */
export function benchPolicy(): Policy {
  return validatePolicy({
    ...DEFAULT_POLICY,
    unusedDays: 7,
    minAgeDays: 3,
    protectTags: ['v*', 'latest', 'release-*'],
    rules: { keep: [parseKeepRule('build=20')], deleteUntagged: true, unusedTagged: true },
  });
}

/** A small, fast, seeded generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A random `sha256:<64 hex>` digest (joined, so a flat string). */
function randomDigest(random: () => number): string {
  const parts = ['sha256:'];
  for (let i = 0; i < 8; i++) {
    const word = Math.floor(random() * 4_294_967_296);
    parts.push(HEX_BYTES[word & 255]!, HEX_BYTES[(word >>> 8) & 255]!);
    parts.push(HEX_BYTES[(word >>> 16) & 255]!, HEX_BYTES[word >>> 24]!);
  }
  return parts.join('');
}

/** A flat copy of a string, as JSON parsing gives it (not a concatenation, not the same object). */
function flatCopy(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/** What the sighting generator may point at in one repository. */
interface Target {
  readonly digest: string;
  readonly tags: readonly string[];
}

/** One manifest as plain data, before it is shaped like the ECR adapter's output. */
interface ImageSpec {
  readonly digest: string;
  readonly tags: string[];
  readonly pushedAtMs: number;
  readonly sizeBytes: number;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly lastPulledAtMs?: number;
  readonly subject?: string;
  readonly children?: IndexChild[];
}

/**
 * Builds the whole input. Takes a few seconds; not part of the timing. Each repository goes
 * through JSON and is then shaped as `EcrRegistry.listImages` shapes DescribeImages details, so
 * that strings are flat and objects lie in memory in listing order, as they do in a real scan.
 */
export function generatePlanInput(shape: PlanInputShape = PLAN_INPUT_SHAPE): PlanInput {
  const random = seededRandom(20261122);
  const digestRandom = seededRandom(1);
  const now = BENCH_NOW;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const counts = { images: 0, indexes: 0, children: 0, attestations: 0, referrers: 0 };
  const repositories: RepositoryListing[] = [];
  const sightings: Sighting[] = [];
  const sightingKinds: SightingKinds = { tagAndDigest: 0, digestOnly: 0, tagOnly: 0 };
  for (let r = 0; r < shape.repositories; r++) {
    const repository = `team-${Math.floor(r / 10)}/service-${r}`;
    const specs: ImageSpec[] = [];
    const roots: ImageSpec[] = [];
    let build = 0;
    const nextDigest = () => randomDigest(digestRandom);
    const pushedAtMs = () => now.getTime() - Math.floor(random() * 400 * DAY_MS);
    const pulled = () =>
      random() < 0.1 ? { lastPulledAtMs: now.getTime() - Math.floor(random() * 30 * DAY_MS) } : {};
    const rootTags = (): string[] => {
      const roll = random();
      if (roll < 0.25) return [];
      build += 1;
      if (roll < 0.28) return [`build-${build}`, `v1.${build}.0`];
      if (roll < 0.33) return [`build-${build}`, `pr-${build}`];
      return [`build-${build}`];
    };
    const spec = (digest: string, at: number, tags: string[], mediaType: string): ImageSpec => ({
      digest,
      tags,
      pushedAtMs: at,
      sizeBytes: 20_000_000 + Math.floor(random() * 400_000_000),
      mediaType,
    });
    const families = Math.round(shape.imagesPerRepository * shape.familyShare);
    for (let f = 0; f < families; f++) {
      const at = pushedAtMs();
      const children: IndexChild[] = [];
      for (let p = 0; p < 2; p++) {
        const child = { ...spec(nextDigest(), at, [], OCI_MANIFEST), ...pulled() };
        specs.push(child);
        children.push({ digest: child.digest });
      }
      if (f % 2 === 0) {
        const attestation = { ...spec(nextDigest(), at, [], OCI_MANIFEST), artifactType: IN_TOTO_TYPE };
        specs.push(attestation);
        children.push({ digest: attestation.digest, attestation: true });
        counts.attestations += 1;
      }
      const index = { ...spec(nextDigest(), at, rootTags(), OCI_INDEX), children };
      specs.push(index);
      roots.push(index);
      counts.indexes += 1;
      counts.children += 2;
    }
    const referrers = shape.cosignPerRepository + shape.ociReferrersPerRepository;
    const singles = shape.imagesPerRepository - specs.length - referrers;
    for (let s = 0; s < singles; s++) {
      const image = { ...spec(nextDigest(), pushedAtMs(), rootTags(), OCI_MANIFEST), ...pulled() };
      specs.push(image);
      roots.push(image);
    }
    for (let s = 0; s < referrers; s++) {
      const subject = pick(roots);
      const at = subject.pushedAtMs + 60_000;
      if (s < shape.cosignPerRepository) {
        const tag = `sha256-${subject.digest.slice('sha256:'.length)}.sig`;
        specs.push({ ...spec(nextDigest(), at, [tag], OCI_MANIFEST), artifactType: COSIGN_TYPE });
      } else {
        specs.push({
          ...spec(nextDigest(), at, [], OCI_MANIFEST),
          artifactType: SBOM_TYPE,
          subject: subject.digest,
        });
      }
      counts.referrers += 1;
    }
    // The newest root carries the moving tags.
    let newest = roots[0]!;
    for (const root of roots) if (root.pushedAtMs > newest.pushedAtMs) newest = root;
    newest.tags.push('latest', 'main');
    shuffle(specs, random);
    const images = (JSON.parse(JSON.stringify(specs)) as ImageSpec[]).map((parsed) =>
      asRegistryImage(repository, parsed),
    );
    counts.images += images.length;
    repositories.push({ repository, images });
    const wanted =
      Math.floor(shape.sightings / shape.repositories) + (r < shape.sightings % shape.repositories ? 1 : 0);
    const targets = specs.filter((image) => image.artifactType === undefined);
    sightings.push(...sightingsOf(repository, r, targets, wanted, random, sightingKinds));
  }
  return {
    repositories,
    sightings,
    clusterReports: CLUSTERS.map((cluster) => ({
      cluster,
      lastReportAt: new Date(now.getTime() - 10 * 60_000),
    })),
    policy: benchPolicy(),
    registryHosts: [REGISTRY_HOST],
    now,
    counts: { ...counts, sightings: sightingKinds },
  };
}

/**
 * One repository's sightings, as `sightingsFromReport` makes them: of a tagged image, half carry
 * its tag and digest, a quarter the tag only, a quarter the digest only; of an untagged one (a
 * platform child) the digest. 70% observed within 2 days, the rest 8–60 days ago (still stored,
 * no longer protecting); 5% name an image of another registry (Docker Hub) and match nothing.
 * Digests are other string objects than the listing's, as in a scan.
 */
function sightingsOf(
  repository: string,
  r: number,
  targets: readonly Target[],
  wanted: number,
  random: () => number,
  counts: SightingKinds,
): Sighting[] {
  const now = BENCH_NOW.getTime();
  const namespaces = ['shop', 'payments', 'search', 'platform', 'batch'];
  const context = {
    namespace: namespaces[r % namespaces.length]!,
    workload: `Deployment/${repository.split('/')[1]}`,
  };
  const sightings: Sighting[] = [];
  while (sightings.length < wanted) {
    const cluster = CLUSTERS[Math.floor(random() * CLUSTERS.length)]!;
    const observedAt =
      random() < 0.7
        ? new Date(now - Math.floor(random() * 2 * DAY_MS) - 10 * 60_000)
        : new Date(now - 8 * DAY_MS - Math.floor(random() * 52 * DAY_MS));
    if (random() < 0.05) {
      const ref = {
        registry: 'docker.io',
        repository: 'library/nginx',
        tag: `1.${Math.floor(random() * 30)}`,
      };
      sightings.push({ cluster, ref, observedAt, ...context });
      counts.tagOnly += 1;
      continue;
    }
    const target = targets[Math.floor(random() * targets.length)]!;
    const roll = random();
    const tag = target.tags[Math.floor(random() * target.tags.length)];
    const digest = flatCopy(target.digest);
    const at = { registry: REGISTRY_HOST, repository };
    if (tag !== undefined && roll < 0.5) {
      // `image: repo:tag` with `imageID: repo@digest`: one sighting with both.
      sightings.push({ cluster, ref: { ...at, tag, digest }, observedAt, ...context });
      counts.tagAndDigest += 1;
    } else if (tag !== undefined && roll < 0.75) {
      // No imageID (a workload template scaled to zero): the tag only.
      sightings.push({ cluster, ref: { ...at, tag }, observedAt, ...context });
      counts.tagOnly += 1;
    } else {
      sightings.push({ cluster, ref: { ...at, digest }, observedAt, ...context });
      counts.digestOnly += 1;
    }
  }
  return sightings;
}

/** Shapes one listed manifest as `EcrRegistry.listImages` does (`toImage`, then index children). */
function asRegistryImage(repository: string, spec: ImageSpec): RegistryImage {
  return registryImage({
    repository,
    digest: spec.digest,
    tags: [...spec.tags].sort(),
    pushedAt: new Date(spec.pushedAtMs),
    pushedAtSource: 'registry',
    sizeBytes: spec.sizeBytes,
    mediaType: spec.mediaType,
    artifactType: spec.artifactType || undefined,
    lastPulledAt: spec.lastPulledAtMs === undefined ? undefined : new Date(spec.lastPulledAtMs),
    children: spec.children,
    subject: spec.subject || undefined,
  });
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
