import fc from 'fast-check';
import picomatch from 'picomatch';
import { TagGlob } from '../../lambdas/core/tag-glob';

const library = (glob: string, tag: string) => picomatch.makeRe(glob, { dot: true }).test(tag);

describe('TagGlob', () => {
  it.each([
    ['latest', 'latest', true],
    ['latest', 'latest-1', false],
    ['v*', 'v', true],
    ['v*', 'v1.2.0', true],
    ['v*', 'build-1', false],
    ['v*', 'v1/x', false],
    ['release-*', 'release-2024.1', true],
    ['v[0-9]*', 'v1', true],
    ['v[0-9]*', 'vx', false],
    ['.*', '.', false],
    ['.*', '.a', true],
    ['{a,b}-*', 'b-1', true],
  ])('%s against %j: %s, as the glob library says', (glob, tag, expected) => {
    expect(new TagGlob(glob).test(tag)).toBe(expected);
    expect(library(glob, tag)).toBe(expected);
  });

  it('agrees with the glob library on random globs and tags', () => {
    const globCharacter = fc.constantFrom('a', 'v', '1', '.', '-', '_', '*', '?');
    const tagCharacter = fc.constantFrom('a', 'v', '1', '.', '-', '_', 'A', '/', '\n');
    fc.assert(
      fc.property(
        fc.string({ unit: globCharacter, minLength: 1, maxLength: 6 }),
        fc.array(fc.string({ unit: tagCharacter, maxLength: 7 }), { minLength: 1, maxLength: 8 }),
        (glob, tags) => {
          const compiled = new TagGlob(glob);
          for (const tag of tags) expect(compiled.test(tag)).toBe(library(glob, tag));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
