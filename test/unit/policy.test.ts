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
    ['!prod', 'main'],
    ['+(a)', 'aaa'],
    ['(a|b)-*', 'b-1'],
    ['{a,{b,c}}', 'c'],
    ['v\\.1', 'v.1'],
    ['v{1..3}', 'v2'],
    ['{a..c}-*', 'b-1'],
    ['[[:alpha:]]*', 'latest'],
    ['[[:digit:]x]*', '7x'],
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
    // The glob library reads each of these characters as itself outside its syntax: no tag holds them.
    ['release-1,release-2', "',' separates choices only inside braces"],
    ['release-1|release-2', "'|' separates choices only inside an extglob"],
    ['@(a,b)', "',' separates choices only inside braces"],
    ['[!a]*', "'[!' is a class of '!' here, not a negation"],
    ['v\\*', "'\\*' may not be escaped"],
    ['v\\', "'\\' may not be escaped"],
    // The glob library reads these as regular expression escapes or empty sets.
    ['v\\1.0', "'\\1' may not be escaped"],
    ['\\d*', "'\\d' may not be escaped"],
    ['v[9-0]*', "the range '9-0' runs backwards"],
    ['v{1..10}', 'is not a range the glob library reads right'],
    ['v{1..3,5}', 'is not a range the glob library reads right'],
    ['[[:bogus:]]', "'[:bogus' is not a class it knows"],
    ['a^b', "not '^'"],
    ['a+b', "not '+'"],
    ['a@b', "not '@'"],
    ['a!b', "not '!'"],
    ['[a!]', "not '!'"],
    ['[]', 'is an empty class'],
    ['[^]', 'is an empty class'],
    ['{prod}', "holds no ',', so its braces are read as characters"],
  ])('refuses %j, which can never protect a tag', (glob, message) => {
    expect(() => validatePolicy(withGlobs([glob]))).toThrow(PolicyError);
    expect(() => validatePolicy(withGlobs([glob]))).toThrow(message);
  });

  it('refuses no glob the library reads as written (a generated sample)', () => {
    // Every accepted glob either holds only tag characters and glob syntax the library compiles
    // (no escaped non-tag character in its regular expression), or is refused.
    const alphabet = [
      'a',
      '1',
      '-',
      '*',
      '?',
      '[',
      ']',
      '^',
      '!',
      '{',
      '}',
      ',',
      '(',
      ')',
      '|',
      '@',
      '+',
      '\\',
    ];
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      let glob = '';
      for (let k = n; glob.length < 6; k = Math.floor(k / alphabet.length) + 7 * glob.length + 1) {
        glob += alphabet[k % alphabet.length]!;
      }
      glob = glob.slice(0, 1 + (n % 6));
      let valid = true;
      try {
        validatePolicy(withGlobs([glob]));
      } catch {
        valid = false;
      }
      if (!valid) continue;
      accepted++;
      // A one-character class `[a]` compiles to `(?:\\[a\\]|[a])`: the class is the live choice.
      const source = picomatch
        .makeRe(glob, { dot: true })
        .source.replace(/\\\[(?:[^\\]|\\.)*?\\\]\|/g, '')
        .replace(/\\\//g, '');
      expect([glob, /\\[^._-]/.test(source) || source === '$^']).toEqual([glob, false]);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('names every bad glob at once', () => {
    expect(() => validatePolicy(withGlobs(['a[', 'v*', 'b c']))).toThrow(
      "protected tag glob 'a[' has an unclosed '['; protected tag glob 'b c' can never match",
    );
  });
});

describe('validatePolicy: keep prefixes', () => {
  it.each([
    [
      'build*',
      "keep prefix 'build*' can never start a tag: a tag holds letters, digits, '.', '_' and '-' only, not '*' (a plain prefix: 'build' for 'build*')",
    ],
    ['bui ld', "not ' '"],
    ['build:x', "not ':'"],
  ])('refuses %j, which no tag can start with', (prefix, message) => {
    const policy = { ...DEFAULT_POLICY, rules: { ...DEFAULT_POLICY.rules, keep: [{ prefix, count: 1 }] } };
    expect(() => validatePolicy(policy)).toThrow(message);
  });
});
