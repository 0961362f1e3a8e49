import fc from 'fast-check';
import { ImagesByDigest, mergeListings } from '../../lambdas/core/images-by-digest';
import type { RegistryImage } from '../../lambdas/core/model';

const image = (digest: string, tag: string): RegistryImage => ({
  repository: 'web',
  digest,
  tags: [tag],
  pushedAt: new Date(0),
  sizeBytes: 1,
});

/** What a Map gives: each digest at its first place, with its listings merged in listing order. */
function byMap(images: readonly RegistryImage[]): Map<string, RegistryImage> {
  const map = new Map<string, RegistryImage>();
  for (const each of images) {
    const seen = map.get(each.digest);
    map.set(each.digest, seen ? mergeListings(seen, each) : each);
  }
  return map;
}

describe('ImagesByDigest', () => {
  it('finds each image by its digest, and nothing for a digest not listed', () => {
    const images = [image(`sha256:${'1'.repeat(64)}`, 'a'), image(`sha256:${'2'.repeat(64)}`, 'b')];
    const table = new ImagesByDigest(images);
    expect(table.get(images[0]!.digest)).toBe(images[0]);
    expect(table.get(images[1]!.digest)).toBe(images[1]);
    expect(table.get(`sha256:${'3'.repeat(64)}`)).toBeUndefined();
    expect(table.unique).toBe(images);
  });

  it('tells apart digests that end alike (one fingerprint, two images)', () => {
    const end = 'f'.repeat(40);
    const images = ['a', 'b', 'c'].map((first, n) => image(`sha256:${first.repeat(24)}${end}`, `build-${n}`));
    const table = new ImagesByDigest(images);
    for (const each of images) expect(table.get(each.digest)).toBe(each);
    expect(table.get(`sha256:${'d'.repeat(24)}${end}`)).toBeUndefined();
  });

  it('keeps a digest listed twice once, at its first place, with the tags of both listings', () => {
    const digest = `sha256:${'1'.repeat(64)}`;
    const other = image(`sha256:${'2'.repeat(64)}`, 'other');
    const first = image(digest, 'first');
    const last = image(digest, 'last');
    const table = new ImagesByDigest([first, other, last]);
    const merged = { ...last, tags: ['first', 'last'] };
    expect(table.get(digest)).toMatchObject(merged);
    expect(table.unique).toMatchObject([merged, other]);
  });

  it.each([
    [
      'a pull only the earlier listing shows',
      { lastPulledAt: new Date(5_000) },
      {},
      { lastPulledAt: new Date(5_000) },
    ],
    [
      'the newer of two pulls',
      { lastPulledAt: new Date(9_000) },
      { lastPulledAt: new Date(5_000) },
      { lastPulledAt: new Date(9_000) },
    ],
    [
      'the later push, with its source',
      { pushedAt: new Date(7_000), pushedAtSource: 'annotation' as const },
      { pushedAt: new Date(3_000), pushedAtSource: 'config-created' as const },
      { pushedAt: new Date(7_000), pushedAtSource: 'annotation' as const },
    ],
    [
      'a push time over an invalid one',
      { pushedAt: new Date(3_000) },
      { pushedAt: new Date(Number.NaN) },
      { pushedAt: new Date(3_000) },
    ],
    [
      'children only the earlier listing knew',
      { children: [{ digest: `sha256:${'c'.repeat(64)}` }] },
      {},
      { children: [{ digest: `sha256:${'c'.repeat(64)}` }] },
    ],
    [
      'a subject only the earlier listing knew',
      { subject: `sha256:${'5'.repeat(64)}` },
      {},
      { subject: `sha256:${'5'.repeat(64)}` },
    ],
  ])('merges two listings of a digest keeping %s', (_name, earlier, later, merged) => {
    const digest = `sha256:${'1'.repeat(64)}`;
    const result = mergeListings({ ...image(digest, 'a'), ...earlier }, { ...image(digest, 'a'), ...later });
    expect(result).toMatchObject(merged);
    expect(result.tags).toEqual(['a']);
  });

  it('agrees with a Map over random listings with repeated and look-alike digests', () => {
    const hex = fc.constantFrom('0', '7', 'a', 'f');
    const digest = fc
      .tuple(fc.string({ unit: hex, minLength: 4, maxLength: 4 }), fc.constantFrom('', '0'.repeat(60)))
      .map(([start, padding]) => `sha256:${start}${padding || 'e'.repeat(60)}`);
    fc.assert(
      fc.property(
        fc.array(digest, { maxLength: 300 }),
        fc.array(digest, { maxLength: 20 }),
        (listed, asked) => {
          const images = listed.map((each, n) => image(each, `t${n}`));
          const table = new ImagesByDigest(images);
          const map = byMap(images);
          expect(table.unique).toEqual([...map.values()]);
          for (const each of [...listed, ...asked]) {
            expect(table.get(each)).toEqual(map.get(each));
            const at = table.indexOf(each);
            expect(at < 0 ? undefined : table.unique[at]).toEqual(map.get(each));
          }
        },
      ),
    );
  });
});
