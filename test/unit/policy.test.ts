import picomatch from 'picomatch';
import { PolicyError } from '../../lambdas/core/errors';
import { DEFAULT_POLICY, validatePolicy } from '../../lambdas/core/policy';

const withGlobs = (protectTags: string[]) => ({ ...DEFAULT_POLICY, protectTags });

describe('validatePolicy: protected tag globs', () => {
  it.each([
    ['v*', 'v1.2.3'],
    ['latest', 'latest'],
    ['release-*', 'release-2026.11'],
    ['v[0-9]*', 'v7'],
    ['build-[^0-9]*', 'build-x1'],
    ['{prod,stable}-*', 'stable-3'],
    ['!(build-*)', 'main'],
    ['?.?', '1.2'],
  ])('accepts %s, which matches a tag such as %s', (glob, tag) => {
    expect(validatePolicy(withGlobs([glob])).protectTags).toEqual([glob]);
    expect(picomatch.makeRe(glob, { dot: true }).test(tag)).toBe(true);
  });

  it.each([
    ['', 'must not be empty'],
    ['  ', 'must not be empty'],
    ['build-[0-1', "has an unclosed '['"],
    ['{prod,stable-*', "has an unclosed '{'"],
    ['@(a|b', "has an unclosed '('"],
    ['build-0-1]', "']' closes nothing"],
    ['release 1', "not ' '"],
    ['team/app', "not '/'"],
    ['web:latest', "not ':'"],
  ])('refuses %j, which can never protect a tag', (glob, message) => {
    expect(() => validatePolicy(withGlobs([glob]))).toThrow(PolicyError);
    expect(() => validatePolicy(withGlobs([glob]))).toThrow(message);
  });

  it('names every bad glob at once', () => {
    expect(() => validatePolicy(withGlobs(['a[', 'v*', 'b c']))).toThrow(
      "protected tag glob 'a[' has an unclosed '['; protected tag glob 'b c' can never match",
    );
  });
});
