import type { RegistryImage } from './model';

/** Newest push first; equal push times by digest. A total order when digests are unique. */
const compareNewestFirst = (a: RegistryImage, b: RegistryImage): number =>
  b.pushedAt.getTime() - a.pushedAt.getTime() || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);

/**
 * Sorts images of distinct digests newest push first, equal push times by digest, in place: the
 * order of a plan's families and the order in which keep rules count.
 *
 * A repository has thousands of roots, and a comparator costs a call per comparison, so the push
 * times are sorted as numbers instead: each image becomes one integer key, its age relative to
 * the newest push scaled to leave room for its index below it, and the keys are sorted natively.
 * Runs of equal push times are then ordered by digest. When the keys would not be exact (an
 * invalid date, or push times too far apart for the number of images), the comparator sorts.
 *
 * @example
 * sortNewestFirst([old, newest, sameTimeAsOld]); // [newest, old, sameTimeAsOld] (old's digest sorts first)
 */
export function sortNewestFirst(images: RegistryImage[]): RegistryImage[] {
  if (images.length < 2) return images;
  const times = new Float64Array(images.length);
  let oldestMs = Number.POSITIVE_INFINITY;
  let newestMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < images.length; i++) {
    const ms = images[i]!.pushedAt.getTime();
    if (Number.isNaN(ms)) return images.sort(compareNewestFirst);
    times[i] = ms;
    if (ms < oldestMs) oldestMs = ms;
    if (ms > newestMs) newestMs = ms;
  }
  const slots = 2 ** Math.ceil(Math.log2(images.length + 1));
  if (!((newestMs - oldestMs + 1) * slots <= Number.MAX_SAFE_INTEGER)) return images.sort(compareNewestFirst);
  const keys = new Float64Array(images.length);
  for (let i = 0; i < images.length; i++) keys[i] = (newestMs - times[i]!) * slots + i;
  keys.sort();
  const listed = images.slice();
  for (let i = 0; i < keys.length; i++) images[i] = listed[keys[i]! % slots]!;
  orderTiesByDigest(images, keys, slots);
  return images;
}

/** Sorts each run of equal push times (equal `key / slots`) by digest. */
function orderTiesByDigest(images: RegistryImage[], keys: Float64Array, slots: number): void {
  let start = 0;
  for (let i = 1; i <= keys.length; i++) {
    if (i < keys.length && Math.floor(keys[i]! / slots) === Math.floor(keys[start]! / slots)) continue;
    if (i - start > 1) {
      const run = images.slice(start, i).sort(compareNewestFirst);
      for (let j = 0; j < run.length; j++) images[start + j] = run[j]!;
    }
    start = i;
  }
}
