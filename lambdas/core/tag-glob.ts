import picomatch from 'picomatch';

/** Characters a glob can hold that mean only themselves (tag characters). */
const LITERAL = /^[A-Za-z0-9_.-]+$/;
/** A prefix the library reads as written before a final `*` (one starting with `.` it reads otherwise). */
const PLAIN_PREFIX = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * A protected-tag glob (`v*`, `latest`, `release-*`, `v[0-9]*`), matched as the glob library
 * matches it with `dot: true`. Planning tests every tag of every image against every glob, and
 * most globs are a plain tag or a prefix followed by `*`: those are compared as strings, which
 * costs a fraction of running the library's regular expression; any other glob runs it.
 *
 * @example
 * new TagGlob('release-*').test('release-2024.1'); // true
 */
export class TagGlob {
  private readonly exact: string | undefined;
  private readonly prefix: string | undefined;
  private readonly regex: RegExp | undefined;

  constructor(readonly glob: string) {
    const head = glob.endsWith('*') ? glob.slice(0, -1) : undefined;
    this.exact = LITERAL.test(glob) ? glob : undefined;
    this.prefix =
      this.exact === undefined && head !== undefined && PLAIN_PREFIX.test(head) ? head : undefined;
    this.regex =
      this.exact === undefined && this.prefix === undefined
        ? picomatch.makeRe(glob, { dot: true })
        : undefined;
  }

  /** True when `tag` matches the glob. */
  test(tag: string): boolean {
    if (this.exact !== undefined) return tag === this.exact;
    // `*` matches any characters but `/`.
    if (this.prefix !== undefined)
      return tag.startsWith(this.prefix) && !tag.includes('/', this.prefix.length);
    return this.regex!.test(tag);
  }
}
