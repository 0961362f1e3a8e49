import { getOrCreate } from './collections';
import { ImagesByDigest } from './images-by-digest';
import { type IndexChild, isIndex, type RegistryImage } from './model';
import { fingerprint } from './string-filter';

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
 * family is not an object: it is a root, and `belowAt(index)`.
 *
 * Roots are asked for by their index in `roots`, and images are linked by their place in the
 * listing: planning then walks arrays in the order they lie in memory, and never hashes an image
 * (a lookup keyed by an object reads the object, once per image of the repository).
 */
export interface Families {
  /**
   * The images the families are made of: each digest once, in listing order, a digest listed
   * twice as its listings merged (`mergeListings`). The listing itself when no digest repeats.
   * Its length is the number of distinct images (digests) in the repository.
   */
  readonly listed: readonly RegistryImage[];
  /** The `fingerprint` of each of `listed`'s digests. */
  readonly prints: Int32Array;
  /** Every root once: in listing order, then the roots of reference cycles by digest. */
  readonly roots: RegistryImage[];
  /** The members below `roots[index]`, in discovery order; empty for most roots. */
  belowAt(index: number): readonly FamilyMember[];
  /** The members below more than one root (a platform manifest shared by two indexes). */
  readonly shared: ReadonlySet<RegistryImage>;
  /** The digests in the repository that `roots[index]` points to (an index's children). */
  referencesAt(index: number): readonly string[];
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
 * Groups one repository's images into families (`listing`: their `listingFacts`, when known).
 * A root is an image that is neither a child of
 * an index nor a referrer of a subject present in the repository; a child whose index is gone is
 * a root of its own. A member reachable from several roots (a platform manifest shared by two
 * indexes) is in each of their families. Images caught in a reference cycle become roots, so
 * that every image is decided. Member order is canonical: an index's children in manifest
 * order, then referrers by digest, whatever order the registry listed the images in.
 *
 * @example
 * const families = buildFamilies([amd64, index, arm64]);
 * families.roots; // [index]
 * families.belowAt(0).map((member) => member.image); // [amd64, arm64]
 */
export function buildFamilies(images: readonly RegistryImage[], listing?: ListingFacts): Families {
  const byDigest = new ImagesByDigest(images, listing?.prints);
  const listed = byDigest.unique;
  // The listing's facts are by listing position: those of `listed` when no digest is listed twice.
  const facts = listing && listed === images ? listing : listingFacts(listed);
  const graph = linkImages(byDigest, facts.linking);
  const roots: RegistryImage[] = [];
  const below: (readonly FamilyMember[])[] = [];
  const references: (readonly string[])[] = [];
  for (let i = 0; i < listed.length; i++) {
    if (graph.hasParent[i] === 1) continue;
    roots.push(listed[i]!);
    below.push(graph.dependents[i] === undefined ? NO_MEMBERS : collectBelow(i, graph));
    references.push(graph.references[i] ?? NONE);
  }
  if (graph.membership.reached < graph.withParent) addCycleRoots(graph, { roots, below, references });
  return {
    listed,
    prints: facts.prints,
    roots,
    shared: sharedMembers(graph),
    belowAt: (index) => below[index]!,
    referencesAt: (index) => references[index]!,
  };
}

/** What planning reads of every listed image, in one pass in listing order. */
export interface ListingFacts {
  /** Each image's digest `fingerprint`. */
  readonly prints: Int32Array;
  /** The positions of the few images that point to others: an index, or a referrer. */
  readonly linking: readonly number[];
}

/** Reads the `ListingFacts` of one repository's listing. */
export function listingFacts(images: readonly RegistryImage[]): ListingFacts {
  const prints = new Int32Array(images.length);
  const linking: number[] = [];
  for (let i = 0; i < images.length; i++) {
    const image = images[i]!;
    prints[i] = fingerprint(image.digest);
    if (pointsToOthers(image)) linking.push(i);
  }
  return { prints, linking };
}

/** An index, or a referrer (of a subject that may or may not be in the repository). */
const pointsToOthers = (image: RegistryImage) => image.children !== undefined || subjectsOf(image).length > 0;

/** The images below more than one root. */
function sharedMembers(graph: Graph): Set<RegistryImage> {
  const shared = new Set<RegistryImage>();
  const { families } = graph.membership;
  for (let i = 0; i < families.length; i++) if (families[i]! > 1) shared.add(graph.images[i]!);
  return shared;
}

interface Dependent {
  /** The image's place in the listing (`Graph.images`). */
  readonly at: number;
  readonly role: Exclude<MemberRole, 'root'>;
  readonly attestation: boolean;
}

const NO_DEPENDENTS: readonly Dependent[] = [];

/** Links between a repository's images, by their place in `images` (each digest once). */
interface Graph {
  readonly images: readonly RegistryImage[];
  /** What hangs from each image (sparse: most images have nothing). */
  readonly dependents: (Dependent[] | undefined)[];
  /** 1 for an image that hangs from another one in the repository. */
  readonly hasParent: Uint8Array;
  /** How many images hang from another one. */
  readonly withParent: number;
  /** The digests in the repository each image points to (sparse). */
  readonly references: (string[] | undefined)[];
  /** Which images the current `collectBelow` walk has seen: those whose mark is its round. */
  readonly visits: { readonly mark: Int32Array; round: number };
  /**
   * How many families each image is a member of (0, 1, or 2 for several), and how many images
   * are a member of some family, as `collectBelow` finds them.
   */
  readonly membership: { readonly families: Uint8Array; reached: number };
}

/** Who hangs from whom: children in manifest order, then referrers sorted by digest. */
function linkImages(byDigest: ImagesByDigest, linking: readonly number[]): Graph {
  const images = byDigest.unique;
  const dependents: (Dependent[] | undefined)[] = new Array(images.length);
  const referrers = new Map<number, Dependent[]>();
  const hasParent = new Uint8Array(images.length);
  const references: (string[] | undefined)[] = new Array(images.length);
  for (const at of linking) {
    const image = images[at]!;
    for (const child of image.children ?? NO_CHILDREN) {
      const childAt = byDigest.indexOf(child.digest);
      if (childAt < 0 || childAt === at) continue;
      const attestation = child.attestation === true;
      pushAt(dependents, at, { at: childAt, role: 'child', attestation });
      pushAt(references, at, child.digest);
      hasParent[childAt] = 1;
    }
    for (const subject of subjectsOf(image)) {
      const subjectAt = byDigest.indexOf(subject);
      if (subjectAt < 0 || subjectAt === at) continue;
      getOrCreate(referrers, subjectAt, () => []).push({ at, role: 'referrer', attestation: false });
      pushAt(references, at, images[subjectAt]!.digest);
      hasParent[at] = 1;
    }
  }
  for (const [subjectAt, list] of referrers) {
    list.sort((a, b) => (images[a.at]!.digest < images[b.at]!.digest ? -1 : 1));
    for (const referrer of list) pushAt(dependents, subjectAt, referrer);
  }
  let withParent = 0;
  for (let i = 0; i < hasParent.length; i++) withParent += hasParent[i]!;
  const visits = { mark: new Int32Array(images.length), round: 0 };
  const membership = { families: new Uint8Array(images.length), reached: 0 };
  return { images, dependents, hasParent, withParent, references, visits, membership };
}

/** Adds `value` to the list at `at` of a sparse array of lists. */
function pushAt<T>(lists: (T[] | undefined)[], at: number, value: T): void {
  const list = lists[at];
  if (list === undefined) lists[at] = [value];
  else list.push(value);
}

/**
 * Images no root reaches (reference cycles) become roots of their own, in digest order. Called
 * only when some image with a parent is below no root.
 */
function addCycleRoots(
  graph: Graph,
  into: {
    roots: RegistryImage[];
    below: (readonly FamilyMember[])[];
    references: (readonly string[])[];
  },
): void {
  const { images } = graph;
  const unreached: number[] = [];
  for (let i = 0; i < images.length; i++) {
    if (graph.hasParent[i] === 1 && graph.membership.families[i] === 0) unreached.push(i);
  }
  const added = new Uint8Array(images.length);
  unreached.sort((a, b) =>
    images[a]!.digest < images[b]!.digest ? -1 : images[a]!.digest > images[b]!.digest ? 1 : 0,
  );
  for (const at of unreached) {
    // Reached meanwhile: a member of a cycle root's family, or a cycle root itself.
    if (graph.membership.families[at]! > 0 || added[at] === 1) continue;
    added[at] = 1;
    into.roots.push(images[at]!);
    into.references.push(graph.references[at] ?? NONE);
    into.below.push(graph.dependents[at] === undefined ? NO_MEMBERS : collectBelow(at, graph));
  }
}

/** Everything that hangs from the image at `rootAt`, breadth first, each image once. */
function collectBelow(rootAt: number, graph: Graph): FamilyMember[] {
  const { images, visits, membership } = graph;
  const members: FamilyMember[] = [];
  const places: number[] = [];
  // Each walk marks the images it has seen with its own round: no set per family.
  const round = ++visits.round;
  visits.mark[rootAt] = round;
  // The root first (i = -1), then each member as it is found.
  for (let i = -1; i < members.length; i++) {
    const parentAt = i < 0 ? rootAt : places[i]!;
    const parent = images[parentAt]!;
    for (const { at, role, attestation } of graph.dependents[parentAt] ?? NO_DEPENDENTS) {
      if (visits.mark[at] === round) continue;
      visits.mark[at] = round;
      const image = images[at]!;
      const references = graph.references[at] ?? NONE;
      places.push(at);
      if (membership.families[at] === 0) membership.reached++;
      if (membership.families[at]! < 2) membership.families[at]!++;
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
