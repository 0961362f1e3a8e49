import { getOrCreate } from './collections';
import { ImagesByDigest } from './images-by-digest';
import { type IndexChild, isIndex, type RegistryImage } from './model';

/** How a member belongs to its family. */
export type MemberRole = 'root' | 'child' | 'referrer';

/** A member below a family's root: a child of an index, or a referrer of a subject. */
export interface FamilyMember {
  readonly image: RegistryImage;
  readonly role: Exclude<MemberRole, 'root'>;
  /** The member this one hangs from (its index, or its subject). */
  readonly via: RegistryImage;
  /** A BuildKit attestation manifest listed by its index: never pulled by a runtime. */
  readonly attestation?: boolean;
  /**
   * The digests in the repository this manifest points to (an index its children, a referrer its
   * subject): a registry deletes a manifest before the ones it points to.
   */
  readonly references: readonly string[];
}

/**
 * One repository's images as families. A family is a root and everything that hangs from it in
 * the same repository: the children of an index (recursively), and referrers of any member (OCI
 * `subject`, cosign `sha256-<hex>.sig|.att|.sbom` tags, the OCI referrers fallback tag
 * `sha256-<hex>`, SOCI indexes). Decided by its root. Most roots have nothing below them, so a
 * family is not an object: it is a root, and `below(root)`.
 *
 * Images are told apart by object, not by digest: each digest is one image here (see
 * `buildFamilies`), and a lookup by an object that was never a key returns at once, where a
 * lookup by digest hashes and compares strings, once per image of the repository.
 */
export interface Families {
  /** How many distinct images (digests) the repository holds: a digest listed twice counts once. */
  readonly images: number;
  /** Every root once: in listing order, then the roots of reference cycles by digest. */
  readonly roots: RegistryImage[];
  /** The members below `root`, in discovery order; empty for most roots. */
  below(root: RegistryImage): readonly FamilyMember[];
  /** The members below more than one root (a platform manifest shared by two indexes). */
  readonly shared: ReadonlySet<RegistryImage>;
  /** The digests in the repository that `root` points to (an index's children). */
  referencesOf(root: RegistryImage): readonly string[];
}

const REFERRER_TAG = /^sha256-([a-f0-9]{64})(?:\.(?:sig|att|sbom))?$/;

/** Shared by every item that points to nothing; frozen, since plan items are handed out. */
const NONE: readonly string[] = Object.freeze([]);
// Internal empty lists are not frozen: in V8, `for...of` over a frozen array allocates an iterator.
const NO_CHILDREN: readonly IndexChild[] = [];
const NO_MEMBERS: readonly FamilyMember[] = [];

const NO_SUBJECTS: readonly string[] = [];

/**
 * The subject digests of a referrer, each once: its `subject` field, and the digest each
 * cosign/fallback tag names. Usually one; several when one manifest serves several images (cosign
 * attachments hold no timestamp, so attaching one SBOM file to two images pushes one manifest with
 * two `sha256-<hex>.sbom` tags): it then belongs to every one of their families.
 */
export function subjectsOf(image: RegistryImage): readonly string[] {
  let subjects: string[] | undefined = image.subject === undefined ? undefined : [image.subject];
  for (const tag of image.tags) {
    if (!tag.startsWith('sha256-')) continue;
    const match = REFERRER_TAG.exec(tag);
    if (!match) continue;
    const subject = `sha256:${match[1]}`;
    if (!subjects) subjects = [subject];
    else if (!subjects.includes(subject)) subjects.push(subject);
  }
  return subjects ?? NO_SUBJECTS;
}

/**
 * Groups one repository's images into families (`prints`: their digests' fingerprints, when known). A root is an image that is neither a child of
 * an index nor a referrer of a subject present in the repository; a child whose index is gone is
 * a root of its own. A member reachable from several roots (a platform manifest shared by two
 * indexes) is in each of their families. Images caught in a reference cycle become roots, so
 * that every image is decided. Member order is canonical: an index's children in manifest
 * order, then referrers by digest, whatever order the registry listed the images in.
 *
 * @example
 * const families = buildFamilies([amd64, index, arm64]);
 * families.roots; // [index]
 * families.below(index).map((member) => member.image); // [amd64, arm64]
 */
export function buildFamilies(images: readonly RegistryImage[], prints?: Int32Array): Families {
  const byDigest = new ImagesByDigest(images, prints);
  const listed = byDigest.unique;
  const graph = linkImages(byDigest, linkingImages(listed));
  const roots: RegistryImage[] = [];
  const below = new Map<RegistryImage, readonly FamilyMember[]>();
  for (let i = 0; i < listed.length; i++) {
    const image = listed[i]!;
    if (graph.hasParent.has(image)) continue;
    roots.push(image);
    if (graph.dependents.has(image)) below.set(image, collectBelow(image, graph));
  }
  const membership: Membership = { anywhere: new Set(), shared: new Set() };
  for (const members of below.values()) noteMembers(members, membership);
  if (membership.anywhere.size < graph.hasParent.size) {
    addCycleRoots(graph, { roots, below, membership });
  }
  return {
    images: listed.length,
    roots,
    shared: membership.shared,
    below: (root) => below.get(root) ?? NO_MEMBERS,
    referencesOf: (root) => graph.references.get(root) ?? NONE,
  };
}

/** The few images that point to others: an index, or a referrer. */
function linkingImages(images: readonly RegistryImage[]): RegistryImage[] {
  const linking: RegistryImage[] = [];
  for (let i = 0; i < images.length; i++) {
    if (pointsToOthers(images[i]!)) linking.push(images[i]!);
  }
  return linking;
}

/** An index, or a referrer (of a subject that may or may not be in the repository). */
const pointsToOthers = (image: RegistryImage) => image.children !== undefined || subjectsOf(image).length > 0;

/** Images below some root, and those below more than one. */
interface Membership {
  readonly anywhere: Set<RegistryImage>;
  readonly shared: Set<RegistryImage>;
}

function noteMembers(members: readonly FamilyMember[], membership: Membership): void {
  for (const { image } of members) {
    if (membership.anywhere.has(image)) membership.shared.add(image);
    else membership.anywhere.add(image);
  }
}

interface Dependent {
  readonly image: RegistryImage;
  readonly role: Exclude<MemberRole, 'root'>;
  readonly attestation: boolean;
}

const NO_DEPENDENTS: readonly Dependent[] = [];

interface Graph {
  readonly dependents: ReadonlyMap<RegistryImage, readonly Dependent[]>;
  readonly hasParent: ReadonlySet<RegistryImage>;
  readonly references: ReadonlyMap<RegistryImage, readonly string[]>;
}

/** Who hangs from whom: children in manifest order, then referrers sorted by digest. */
function linkImages(byDigest: ImagesByDigest, linking: readonly RegistryImage[]): Graph {
  const dependents = new Map<RegistryImage, Dependent[]>();
  const referrers = new Map<RegistryImage, Dependent[]>();
  const hasParent = new Set<RegistryImage>();
  const references = new Map<RegistryImage, string[]>();
  for (const image of linking) {
    for (const child of image.children ?? NO_CHILDREN) {
      const childImage = byDigest.get(child.digest);
      if (!childImage || childImage === image) continue;
      const attestation = child.attestation === true;
      getOrCreate(dependents, image, () => []).push({ image: childImage, role: 'child', attestation });
      getOrCreate(references, image, () => []).push(child.digest);
      hasParent.add(childImage);
    }
    for (const subject of subjectsOf(image)) {
      const subjectImage = byDigest.get(subject);
      if (subjectImage === undefined || subject === image.digest) continue;
      getOrCreate(referrers, subjectImage, () => []).push({ image, role: 'referrer', attestation: false });
      getOrCreate(references, image, () => []).push(subjectImage.digest);
      hasParent.add(image);
    }
  }
  for (const [subject, list] of referrers) {
    list.sort((a, b) => (a.image.digest < b.image.digest ? -1 : 1));
    getOrCreate(dependents, subject, () => []).push(...list);
  }
  return { dependents, hasParent, references };
}

/**
 * Images no root reaches (reference cycles) become roots of their own, in digest order. Called
 * only when some image with a parent is below no root.
 */
function addCycleRoots(
  graph: Graph,
  into: {
    roots: RegistryImage[];
    below: Map<RegistryImage, readonly FamilyMember[]>;
    membership: Membership;
  },
): void {
  const reached = new Set(into.membership.anywhere);
  const unreached = [...graph.hasParent]
    .filter((image) => !reached.has(image))
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  for (const root of unreached) {
    if (reached.has(root)) continue;
    into.roots.push(root);
    reached.add(root);
    if (!graph.dependents.has(root)) continue;
    const members = collectBelow(root, graph);
    into.below.set(root, members);
    noteMembers(members, into.membership);
    for (const member of members) reached.add(member.image);
  }
}

/** Everything that hangs from `root`, breadth first, each image once. */
function collectBelow(root: RegistryImage, graph: Graph): FamilyMember[] {
  const members: FamilyMember[] = [];
  const seen = new Set<RegistryImage>([root]);
  // The root first (i = -1), then each member as it is found.
  for (let i = -1; i < members.length; i++) {
    const parent = i < 0 ? root : members[i]!.image;
    for (const { image, role, attestation } of graph.dependents.get(parent) ?? NO_DEPENDENTS) {
      if (seen.has(image)) continue;
      seen.add(image);
      const references = graph.references.get(image) ?? NONE;
      members.push(
        attestation
          ? { image, role, via: parent, attestation, references }
          : { image, role, via: parent, references },
      );
    }
  }
  return members;
}

/**
 * True for members whose recorded pull means use: not an index (reading an index is how any
 * tool learns its children) and not an attestation manifest.
 */
export function pullMeansUse(image: RegistryImage, attestation: boolean | undefined): boolean {
  return !isIndex(image) && attestation !== true;
}
