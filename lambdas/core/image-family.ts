import { getOrCreate } from './collections';
import { isIndex, type RegistryImage } from './model';

/** How a member belongs to its family. */
export type MemberRole = 'root' | 'child' | 'referrer';

export interface FamilyMember {
  readonly image: RegistryImage;
  readonly role: MemberRole;
  /** The member this one hangs from (its index, or its subject); undefined for the root. */
  readonly via?: RegistryImage;
  /** A BuildKit attestation manifest listed by its index: never pulled by a runtime. */
  readonly attestation?: boolean;
  /**
   * The digests in the repository this manifest points to (an index its children, a referrer its
   * subject): a registry deletes a manifest before the ones it points to.
   */
  readonly references: readonly string[];
}

/**
 * A root and everything that hangs from it in the same repository: the children of an index
 * (recursively), and referrers of any member (OCI `subject`, cosign `sha256-<hex>.sig|.att|.sbom`
 * tags, the OCI referrers fallback tag `sha256-<hex>`, SOCI indexes). Decided by its root.
 */
export interface Family {
  readonly root: RegistryImage;
  /** The root first, then its descendants in discovery order. */
  readonly members: readonly FamilyMember[];
}

const REFERRER_TAG = /^sha256-([a-f0-9]{64})(?:\.(?:sig|att|sbom))?$/;

const NONE: readonly string[] = Object.freeze([]);

/** The subject digest of a referrer: its `subject` field, or the digest named by a cosign/fallback tag. */
export function subjectOf(image: RegistryImage): string | undefined {
  if (image.subject !== undefined) return image.subject;
  for (const tag of image.tags) {
    if (!tag.startsWith('sha256-')) continue;
    const match = REFERRER_TAG.exec(tag);
    if (match) return `sha256:${match[1]}`;
  }
  return undefined;
}

/**
 * Groups one repository's images into families. A root is an image that is neither a child of
 * an index nor a referrer of a subject present in the repository; a child whose index is gone is
 * a root of its own. A member reachable from several roots (a platform manifest shared by two
 * indexes) is in each of their families. Images caught in a reference cycle become roots, so
 * that every image is decided. Member order is canonical: an index's children in manifest
 * order, then referrers by digest, whatever order the registry listed the images in.
 *
 * @example
 * buildFamilies([index, amd64, arm64]) // [{ root: index, members: [index, amd64, arm64] }]
 */
export function buildFamilies(images: readonly RegistryImage[]): Family[] {
  const byDigest = new Map<string, RegistryImage>();
  for (const image of images) byDigest.set(image.digest, image);
  const graph = linkImages(byDigest);
  const families: Family[] = [];
  for (const image of byDigest.values()) {
    if (!graph.hasParent.has(image.digest)) families.push(collectFamily(image, graph));
  }
  if (graph.hasParent.size > 0) families.push(...cycleRoots(byDigest, families, graph));
  return families;
}

interface Dependent {
  readonly image: RegistryImage;
  readonly role: MemberRole;
  readonly attestation: boolean;
}

interface Graph {
  readonly dependents: ReadonlyMap<string, readonly Dependent[]>;
  readonly hasParent: ReadonlySet<string>;
  readonly references: ReadonlyMap<string, readonly string[]>;
}

/** Who hangs from whom: children in manifest order, then referrers sorted by digest. */
function linkImages(byDigest: ReadonlyMap<string, RegistryImage>): Graph {
  const dependents = new Map<string, Dependent[]>();
  const referrers = new Map<string, Dependent[]>();
  const hasParent = new Set<string>();
  const references = new Map<string, string[]>();
  for (const image of byDigest.values()) {
    for (const child of image.children ?? []) {
      const childImage = byDigest.get(child.digest);
      if (!childImage || childImage === image) continue;
      const attestation = child.attestation === true;
      getOrCreate(dependents, image.digest, () => []).push({ image: childImage, role: 'child', attestation });
      getOrCreate(references, image.digest, () => []).push(child.digest);
      hasParent.add(child.digest);
    }
    const subject = subjectOf(image);
    if (subject === undefined || subject === image.digest || !byDigest.has(subject)) continue;
    getOrCreate(referrers, subject, () => []).push({ image, role: 'referrer', attestation: false });
    getOrCreate(references, image.digest, () => []).push(subject);
    hasParent.add(image.digest);
  }
  for (const [subject, list] of referrers) {
    list.sort((a, b) => (a.image.digest < b.image.digest ? -1 : 1));
    getOrCreate(dependents, subject, () => []).push(...list);
  }
  return { dependents, hasParent, references };
}

/** Images no root reaches (reference cycles) become roots of their own, in digest order. */
function cycleRoots(
  byDigest: ReadonlyMap<string, RegistryImage>,
  families: readonly Family[],
  graph: Graph,
): Family[] {
  const reached = new Set<string>();
  for (const family of families) {
    for (let i = 1; i < family.members.length; i++) reached.add(family.members[i]!.image.digest);
  }
  const unreached = [...graph.hasParent].filter((digest) => !reached.has(digest)).sort();
  const extra: Family[] = [];
  for (const digest of unreached) {
    if (reached.has(digest)) continue;
    const family = collectFamily(byDigest.get(digest)!, graph);
    for (const member of family.members) reached.add(member.image.digest);
    extra.push(family);
  }
  return extra;
}

function collectFamily(root: RegistryImage, graph: Graph): Family {
  const rootMember: FamilyMember = {
    image: root,
    role: 'root',
    references: graph.references.get(root.digest) ?? NONE,
  };
  if (!graph.dependents.has(root.digest)) return { root, members: [rootMember] };
  const members: FamilyMember[] = [rootMember];
  const seen = new Set<string>([root.digest]);
  for (let i = 0; i < members.length; i++) {
    const parent = members[i]!.image;
    for (const { image, role, attestation } of graph.dependents.get(parent.digest) ?? []) {
      if (seen.has(image.digest)) continue;
      seen.add(image.digest);
      const references = graph.references.get(image.digest) ?? NONE;
      members.push(
        attestation
          ? { image, role, via: parent, attestation, references }
          : { image, role, via: parent, references },
      );
    }
  }
  return { root, members };
}

/**
 * True for members whose recorded pull means use: not an index (reading an index is how any
 * tool learns its children) and not an attestation manifest.
 */
export function pullMeansUse(member: FamilyMember): boolean {
  return !isIndex(member.image) && member.attestation !== true;
}
