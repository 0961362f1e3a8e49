import type { RegistryImage } from './model';

/** A push time to rank by: an invalid date ranks as the oldest push. */
const rankTime = (date: Date): number => {
  const ms = date.getTime();
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
};

/**
 * Newest push first; equal push times (invalid dates among them) by digest. A total order when
 * digests are unique, whatever the dates.
 */
export function compareNewestFirst(
  a: Pick<RegistryImage, 'pushedAt' | 'digest'>,
  b: Pick<RegistryImage, 'pushedAt' | 'digest'>,
): number {
  const older = rankTime(a.pushedAt);
  const newer = rankTime(b.pushedAt);
  if (older !== newer) return older < newer ? 1 : -1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/**
 * The order of images of distinct digests by newest push first, equal push times by digest:
 * `order[k]` is the index in `images` of the k-th newest. The order of a plan's families and the
 * order in which keep rules count. The images stay where they are: work on each image is done in
 * listing order (the order they lie in memory, several times faster than visiting them by age),
 * and only what needs the ranking walks `order`.
 *
 * A repository has thousands of roots, and a comparator costs a call per comparison, so the push
 * times are sorted as numbers instead: each image becomes one integer key, its age relative to
 * the newest push scaled to leave room for its index below it, and the keys are sorted natively.
 * Runs of equal push times are then ordered by digest. When the keys would not be exact (an
 * invalid date, or push times too far apart for the number of images), a comparator sorts.
 *
 * `times`: the images' push times (`pushTimes`), when the caller has them already.
 *
 * @example
 * newestFirstOrder([old, newest, sameTimeAsOld]); // Int32Array [1, 0, 2] (old's digest sorts first)
 */
export function newestFirstOrder(
  images: readonly RegistryImage[],
  times: Float64Array = pushTimes(images),
): Int32Array {
  const order = new Int32Array(images.length);
  let oldestMs = Number.POSITIVE_INFINITY;
  let newestMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < images.length; i++) {
    const ms = times[i]!;
    if (Number.isNaN(ms)) return sortedByComparator(images, order);
    if (ms < oldestMs) oldestMs = ms;
    if (ms > newestMs) newestMs = ms;
  }
  const slots = 2 ** Math.ceil(Math.log2(images.length + 1));
  if (!((newestMs - oldestMs + 1) * slots <= Number.MAX_SAFE_INTEGER))
    return sortedByComparator(images, order);
  const keys = new Float64Array(images.length);
  for (let i = 0; i < images.length; i++) keys[i] = (newestMs - times[i]!) * slots + i;
  keys.sort();
  for (let k = 0; k < keys.length; k++) order[k] = keys[k]! % slots;
  orderTiesByDigest(images, order, keys, slots);
  return order;
}

/**
 * Each image's push time in milliseconds (NaN for an invalid date), parallel to `images`: what the
 * ranking, the delete rules and the age protection read, each push read once.
 */
export function pushTimes(images: readonly Pick<RegistryImage, 'pushedAt'>[]): Float64Array {
  const times = new Float64Array(images.length);
  for (let i = 0; i < images.length; i++) times[i] = images[i]!.pushedAt.getTime();
  return times;
}

function sortedByComparator(images: readonly RegistryImage[], order: Int32Array): Int32Array {
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => compareNewestFirst(images[a]!, images[b]!));
}

/** Sorts each run of equal push times (equal `key / slots`) by digest. */
function orderTiesByDigest(
  images: readonly RegistryImage[],
  order: Int32Array,
  keys: Float64Array,
  slots: number,
): void {
  let start = 0;
  for (let k = 1; k <= keys.length; k++) {
    if (k < keys.length && Math.floor(keys[k]! / slots) === Math.floor(keys[start]! / slots)) continue;
    if (k - start > 1) order.subarray(start, k).sort((a, b) => compareNewestFirst(images[a]!, images[b]!));
    start = k;
  }
}
