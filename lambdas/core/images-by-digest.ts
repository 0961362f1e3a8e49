import { type RegistryImage, registryImage } from './model';
import { digestFingerprints, fingerprint } from './string-filter';

/**
 * One repository's images by digest, each digest once: a digest listed twice (a listing that
 * shifted while it was paged) is one image at its first place, made by `mergeListings` of all
 * its listings, so that no tag or pull either listing showed is lost.
 *
 * Planning reads every image's digest once here, so the lookup is an open-addressing table over
 * `fingerprint` (a digest's last characters: digests differ at the end) instead of a `Map`, which
 * hashes each whole 71-character digest and grows as it goes: about a tenth of the cost.
 * A fingerprint only finds a slot; the digests themselves are compared, so two digests with one
 * fingerprint are still two images.
 */
export class ImagesByDigest {
  /** The images, each digest once, in listing order. */
  readonly unique: readonly RegistryImage[];
  /** Position in `images` of each slot's first listing, plus one; 0 for an empty slot. */
  private readonly slots: Int32Array;
  private readonly fingerprints: Int32Array;
  private readonly mask: number;
  /** First position → its digest's listings merged, for digests listed more than once. */
  private readonly relisted = new Map<number, RegistryImage>();
  /** With digests listed twice: each listing position's place in `unique`. */
  private uniqueAt: Int32Array | undefined;

  /**
   * `prints`: each image's digest `fingerprint`, parallel to `images` (`digestFingerprints`), when
   * the caller has them already.
   */
  constructor(
    private readonly images: readonly RegistryImage[],
    prints: Int32Array = digestFingerprints(images),
  ) {
    let size = 16;
    while (size < images.length * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.fingerprints = new Int32Array(size);
    this.mask = size - 1;
    let duplicates: Uint8Array | undefined;
    for (let i = 0; i < images.length; i++) {
      const first = this.add(i, prints[i]!);
      if (first === i) continue;
      this.relisted.set(first, mergeListings(this.relisted.get(first) ?? images[first]!, images[i]!));
      duplicates ??= new Uint8Array(images.length);
      duplicates[i] = 1;
    }
    this.unique = duplicates ? this.dropRelistings(duplicates) : images;
  }

  /** The image listed under `digest`, if any. */
  get(digest: string): RegistryImage | undefined {
    const at = this.indexOf(digest);
    return at < 0 ? undefined : this.unique[at];
  }

  /** The position in `unique` of the image listed under `digest`; -1 when none is. */
  indexOf(digest: string): number {
    const print = fingerprint(digest);
    for (let slot = print & this.mask; ; slot = (slot + 1) & this.mask) {
      const held = this.slots[slot]!;
      if (held === 0) return -1;
      if (this.fingerprints[slot] === print && this.images[held - 1]!.digest === digest) {
        return this.uniqueAt === undefined ? held - 1 : this.uniqueAt[held - 1]!;
      }
    }
  }

  /** Stores image `i`; returns the position of its digest's first listing (`i` when it is new). */
  private add(i: number, print: number): number {
    const { digest } = this.images[i]!;
    for (let slot = print & this.mask; ; slot = (slot + 1) & this.mask) {
      const held = this.slots[slot]!;
      if (held === 0) {
        this.slots[slot] = i + 1;
        this.fingerprints[slot] = print;
        return i;
      }
      if (this.fingerprints[slot] === print && this.images[held - 1]!.digest === digest) {
        return held - 1;
      }
    }
  }

  private dropRelistings(duplicates: Uint8Array): RegistryImage[] {
    const unique: RegistryImage[] = [];
    this.uniqueAt = new Int32Array(this.images.length).fill(-1);
    for (let i = 0; i < this.images.length; i++) {
      if (duplicates[i] !== 0) continue;
      this.uniqueAt[i] = unique.length;
      unique.push(this.relisted.get(i) ?? this.images[i]!);
    }
    return unique;
  }
}

/**
 * One image from two listings of its digest: the later one, with every tag of either (sorted),
 * the newer pull, the later push (it keeps a young image young), and what either knew of the
 * manifest's children and subject. When listings disagree, the evidence of use is kept.
 */
export function mergeListings(earlier: RegistryImage, later: RegistryImage): RegistryImage {
  const tags = earlier.tags.every((tag) => later.tags.includes(tag))
    ? later.tags
    : [...new Set([...later.tags, ...earlier.tags])].sort();
  const pushed = laterPush(earlier, later);
  return registryImage({
    repository: later.repository,
    digest: later.digest,
    sizeBytes: later.sizeBytes,
    mediaType: later.mediaType,
    artifactType: later.artifactType,
    tags,
    pushedAt: pushed.pushedAt,
    pushedAtSource: pushed.pushedAtSource,
    lastPulledAt: newerDate(earlier.lastPulledAt, later.lastPulledAt),
    children: later.children ?? earlier.children,
    subject: later.subject ?? earlier.subject,
  });
}

/** The listing with the later valid push time (an invalid date is no push time). */
function laterPush(earlier: RegistryImage, later: RegistryImage): RegistryImage {
  const before = earlier.pushedAt.getTime();
  const after = later.pushedAt.getTime();
  if (Number.isNaN(after)) return earlier;
  return !Number.isNaN(before) && before > after ? earlier : later;
}

function newerDate(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (a === undefined || Number.isNaN(a.getTime())) return b;
  if (b === undefined || Number.isNaN(b.getTime())) return a;
  return a.getTime() > b.getTime() ? a : b;
}
