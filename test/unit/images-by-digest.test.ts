import fc from 'fast-check';
import { ImagesByDigest } from '../../lambdas/core/images-by-digest';
import type { RegistryImage } from '../../lambdas/core/model';

const image = (digest: string, tag: string): RegistryImage => ({
  repository: 'web',
  digest,
  tags: [tag],
  pushedAt: new Date(0),
  sizeBytes: 1,
});

/** What a Map gives: each digest at its first place, with its last listing. */
function byMap(images: readonly RegistryImage[]): Map<string, RegistryImage> {
  const map = new Map<string, RegistryImage>();
  for (const each of images) map.set(each.digest, each);
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

  it('keeps a digest listed twice once: its last listing, at its first place', () => {
    const digest = `sha256:${'1'.repeat(64)}`;
    const other = image(`sha256:${'2'.repeat(64)}`, 'other');
    const first = image(digest, 'first');
    const last = image(digest, 'last');
    const table = new ImagesByDigest([first, other, last]);
    expect(table.get(digest)).toBe(last);
    expect(table.unique).toEqual([last, other]);
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
            expect(table.get(each)).toBe(map.get(each));
            const at = table.indexOf(each);
            expect(at < 0 ? undefined : table.unique[at]).toBe(map.get(each));
          }
        },
      ),
    );
  });
});
