/**
 * A set of strings that can only answer "certainly not in it" or "maybe": a one-hash Bloom filter
 * over a fingerprint of each string's last characters. A registry lists far more images than
 * clusters report, and a map lookup of a digest or tag that was never sighted still compares it
 * with the sighted strings in the same bucket (strings elsewhere in memory), once per image.
 * Checking one bit first skips that for nearly every image; a "maybe" goes on to the map, so
 * nothing is ever missed: equal strings have equal fingerprints.
 */
export interface StringFilter {
  /** False when `text` was certainly not added; true when it was, and for a few others. */
  mayHave(text: string): boolean;
  /** `mayHave` of a string whose `fingerprint` is known: the string itself is not read again. */
  mayHaveFingerprint(print: number): boolean;
}

/** Characters of a string's end that make its fingerprint (digests and tags differ at the end). */
const FINGERPRINT_CHARS = 8;
const MIN_BITS = 1 << 10;
const MAX_BITS = 1 << 24;

/**
 * A filter of `texts` (`count` of them), with about 32 bits per string (a few "maybe"s in a hundred
 * for strings not in it).
 *
 * @example
 * const sighted = stringFilter(['sha256:4c1f…'], 1);
 * sighted.mayHave('sha256:4c1f…'); // true
 * sighted.mayHave('sha256:9e07…'); // false (almost always)
 */
export function stringFilter(texts: Iterable<string>, count: number): StringFilter {
  let size = MIN_BITS;
  while (size < count * 32 && size < MAX_BITS) size *= 2;
  const bits = new Int32Array(size / 32);
  const mask = size - 1;
  for (const text of texts) {
    const bit = fingerprint(text) & mask;
    bits[bit >>> 5]! |= 1 << (bit & 31);
  }
  // Methods, not arrow functions: tools that keep function names wrap each arrow in a call, once
  // per filter made, and that call throws away the optimised code of whatever makes filters.
  return {
    mayHave(text) {
      return hasBit(bits, mask, fingerprint(text));
    },
    mayHaveFingerprint(print) {
      return hasBit(bits, mask, print);
    },
  };
}

function hasBit(bits: Int32Array, mask: number, print: number): boolean {
  const bit = print & mask;
  return (bits[bit >>> 5]! & (1 << (bit & 31))) !== 0;
}

/**
 * A 32-bit fingerprint of a string's length and last characters: equal strings have equal
 * fingerprints. Also what `ImagesByDigest` finds a digest's slot by.
 */
export function fingerprint(text: string): number {
  let hash = text.length;
  for (let i = Math.max(0, text.length - FINGERPRINT_CHARS); i < text.length; i++) {
    hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  }
  return hash;
}

/** The `fingerprint` of each image's digest, parallel to `images`: planning reads each digest once. */
export function digestFingerprints(images: readonly { readonly digest: string }[]): Int32Array {
  const prints = new Int32Array(images.length);
  for (let i = 0; i < images.length; i++) prints[i] = fingerprint(images[i]!.digest);
  return prints;
}
