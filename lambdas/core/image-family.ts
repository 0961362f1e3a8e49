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

/**
 * The digests a manifest points to within its repository: an index its children, a referrer
 * its subject. A registry deletes a manifest before the ones it points to.
 */
export function referencedDigests(image: RegistryImage, present: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const child of image.children ?? []) if (present.has(child.digest)) out.push(child.digest);
  const subject = subjectOf(image);
  if (subject !== undefined && subject !== image.digest && present.has(subject)) out.push(subject);
  return out;
}

/** The subject digest of a referrer: its `subject` field, or the digest named by a cosign/fallback tag. */
export function subjectOf(image: RegistryImage): string | undefined {
  if (image.subject !== undefined) return image.subject;
  for (const tag of image.tags) {
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
 * that every image is decided.
 *
 * @example
 * buildFamilies([index, amd64, arm64]) // [{ root: index, members: [index, amd64, arm64] }]
 */
export function buildFamilies(images: readonly RegistryImage[]): Family[] {
  // A canonical order, so that families and their member order do not depend on the listing order.
  const sorted = [...images].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const byDigest = new Map<string, RegistryImage>();
  for (const image of sorted) byDigest.set(image.digest, image);
  const dependents = new Map<string, Dependent[]>();
  const hasParent = new Set<string>();
  const link = (from: string, image: RegistryImage, role: MemberRole, attestation = false) => {
    if (from === image.digest || !byDigest.has(from)) return;
    const list = getOrCreate(dependents, from, () => []);
    list.push({ image, role, attestation });
    hasParent.add(image.digest);
  };
  for (const image of sorted) {
    for (const child of image.children ?? []) {
      const childImage = byDigest.get(child.digest);
      if (childImage) link(image.digest, childImage, 'child', child.attestation === true);
    }
    const subject = subjectOf(image);
    if (subject !== undefined) link(subject, image, 'referrer');
  }
  const families: Family[] = [];
  const reached = new Set<string>();
  const collect = (root: RegistryImage) => {
    const family = collectFamily(root, dependents);
    for (const member of family.members) reached.add(member.image.digest);
    families.push(family);
  };
  for (const image of byDigest.values()) if (!hasParent.has(image.digest)) collect(image);
  for (const image of byDigest.values()) if (!reached.has(image.digest)) collect(image);
  return families;
}

interface Dependent {
  readonly image: RegistryImage;
  readonly role: MemberRole;
  readonly attestation: boolean;
}

function collectFamily(root: RegistryImage, dependents: ReadonlyMap<string, readonly Dependent[]>): Family {
  const members: FamilyMember[] = [{ image: root, role: 'root' }];
  const seen = new Set<string>([root.digest]);
  for (let i = 0; i < members.length; i++) {
    const parent = members[i]!.image;
    for (const { image, role, attestation } of dependents.get(parent.digest) ?? []) {
      if (seen.has(image.digest)) continue;
      seen.add(image.digest);
      members.push(attestation ? { image, role, via: parent, attestation } : { image, role, via: parent });
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
