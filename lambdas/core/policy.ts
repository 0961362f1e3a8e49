import picomatch from 'picomatch';
import { PolicyError } from './errors';
import type { LifecyclePolicy } from './lifecycle-policy';

/** `keep PREFIX=N`: among images with a tag starting with `prefix`, all but the newest `count` are candidates. */
export interface KeepRule {
  readonly prefix: string;
  readonly count: number;
}

/** The delete rules. An image matched by none of them is kept. */
export interface DeleteRules {
  readonly keep: readonly KeepRule[];
  readonly deleteUntagged: boolean;
  /** Tagged images not seen in any cluster for `unusedDays`. */
  readonly unusedTagged: boolean;
  readonly lifecyclePolicy?: LifecyclePolicy;
}

/** The retention policy of one repository. Protections always win over delete rules. */
export interface Policy {
  /** A sighting (or ECR pull) within this many days protects an image. @default 7 */
  readonly unusedDays: number;
  /** An image pushed within this many days is protected. @default 3 (0 in `gc`) */
  readonly minAgeDays: number;
  /** Globs; an image with a matching tag is protected. @default [] */
  readonly protectTags: readonly string[];
  /** Protect images whose registry-recorded pull time is within `unusedDays` (ECR). @default true */
  readonly usePullTime: boolean;
  /** A cluster silent for longer blocks deletions in the repositories it reported from. @default 6 */
  readonly staleAfterHours: number;
  readonly rules: DeleteRules;
}

export const DEFAULT_POLICY: Policy = {
  unusedDays: 7,
  minAgeDays: 3,
  protectTags: [],
  usePullTime: true,
  staleAfterHours: 6,
  rules: { keep: [], deleteUntagged: false, unusedTagged: false },
};

/**
 * Parses one `--keep` value.
 *
 * @example
 * parseKeepRule('build=8') // { prefix: 'build', count: 8 }
 */
export function parseKeepRule(value: string): KeepRule {
  const match = /^(.+)=(\d+)$/.exec(value);
  if (!match) {
    throw new PolicyError(`--keep expects PREFIX=N with N a whole number, got '${value}'`);
  }
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count)) {
    throw new PolicyError(`--keep count is too large in '${value}'`);
  }
  return { prefix: match[1]!, count };
}

/** More keep rules than anyone writes by hand (the planner packs a rule's index in 16 bits). */
const MAX_KEEP_RULES = 1000;

/** Checks the numbers and rules of a policy; throws a `PolicyError` naming every problem. */
export function validatePolicy(policy: Policy): Policy {
  const problems: string[] = [];
  const nonNegative = (name: string, value: number) => {
    if (!Number.isFinite(value) || value < 0) problems.push(`${name} must be a number ≥ 0, got ${value}`);
  };
  nonNegative('unusedDays', policy.unusedDays);
  nonNegative('minAgeDays', policy.minAgeDays);
  if (!Number.isFinite(policy.staleAfterHours) || policy.staleAfterHours <= 0) {
    problems.push(`staleAfterHours must be a number > 0, got ${policy.staleAfterHours}`);
  }
  const prefixes = new Set<string>();
  if (policy.rules.keep.length > MAX_KEEP_RULES)
    problems.push(`at most ${MAX_KEEP_RULES} keep rules, got ${policy.rules.keep.length}`);
  for (const rule of policy.rules.keep) {
    if (rule.prefix === '') problems.push('a keep rule needs a non-empty tag prefix');
    const foreign = [...rule.prefix].find((character) => !TAG_CHARACTER.test(character));
    if (foreign !== undefined) {
      const hint =
        foreign === '*' ? ` (a plain prefix: '${rule.prefix.replaceAll('*', '')}' for '${rule.prefix}')` : '';
      problems.push(
        `keep prefix '${rule.prefix}' can never start a tag: ${TAG_CHARACTERS}, not '${foreign}'${hint}`,
      );
    }
    if (!Number.isSafeInteger(rule.count) || rule.count < 0) {
      problems.push(`keep ${rule.prefix}=${rule.count}: the count must be a whole number ≥ 0`);
    }
    if (prefixes.has(rule.prefix)) problems.push(`keep prefix '${rule.prefix}' is given twice`);
    prefixes.add(rule.prefix);
  }
  for (const glob of policy.protectTags) {
    const problem = globProblem(glob);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) throw new PolicyError(problems.join('; '), problems);
  return policy;
}

const CLOSING: Readonly<Record<string, string>> = { '[': ']', '{': '}', '(': ')' };
/** The characters a tag can hold. */
const TAG_CHARACTER = /[A-Za-z0-9._-]/;
const TAG_CHARACTERS = "a tag holds letters, digits, '.', '_' and '-' only";

/**
 * Why a protected-tag glob can never protect what it says, if it cannot. The glob library reads
 * whatever is not its syntax as a literal character, without a word: an unclosed `[` or `{`, a
 * `,` outside braces (`release-1,release-2`), a `|` outside an extglob, `[!a]` (a class of `!`
 * and `a`, not a negation), an escaped `\*`. Each is a character no tag holds, so the glob
 * would match nothing and protect nothing; an escaped letter, a backwards range or `{1..10}` it
 * reads otherwise than written. Accepted: tag characters, `*`, `?`, classes of tag characters
 * (`[^...]` negates, POSIX classes such as `[:digit:]`), braces `{a,b}` and one-character
 * ranges `{1..3}`, groups and extglobs `@(a|b)`, `!(a)`, `+(a)`, a leading `!` (every tag but
 * these), and `\.`, `\-`, `\_`.
 */
function globProblem(glob: string): string | undefined {
  if (glob.trim() === '') return 'a protected tag glob must not be empty';
  const never = (why: string) => `protected tag glob '${glob}' can never match: ${why}`;
  const wrong = (why: string) => `protected tag glob '${glob}': ${why}`;
  /** What is open: the character, where, and (for braces) whether a ',' was met in it. */
  const open: { character: string; at: number; choices: boolean }[] = [];
  for (let i = 0; i < glob.length; i++) {
    const character = glob[i]!;
    const inside = open[open.length - 1];
    if (inside?.character === '[') {
      const first = i === inside.at + 1 || (i === inside.at + 2 && glob[inside.at + 1] === '^');
      if (character === ']' && first) return never(`'${glob.slice(inside.at, i + 1)}' is an empty class`);
      if (character === ']') open.pop();
      else if (character === '^' && i === inside.at + 1) continue;
      else if (character === '!' && i === inside.at + 1)
        return wrong("'[!' is a class of '!' here, not a negation; write '[^'");
      else if (character === '[' && glob[i + 1] === ':') {
        const end = glob.indexOf(':]', i + 2);
        const name = end < 0 ? '' : glob.slice(i + 2, end);
        if (!POSIX_CLASSES.has(name))
          return wrong(`'[:${name}' is not a class it knows (${[...POSIX_CLASSES].join(', ')})`);
        i = end + 1;
      } else if (character === '-' && !first && TAG_CHARACTER.test(glob[i - 1]!) && glob[i + 1] !== ']') {
        const from = glob[i - 1]!;
        const to = glob[i + 1];
        if (to !== undefined && TAG_CHARACTER.test(to) && from > to)
          return never(`the range '${from}-${to}' runs backwards`);
      } else if (!TAG_CHARACTER.test(character)) return never(`${TAG_CHARACTERS}, not '${character}'`);
      continue;
    }
    if (TAG_CHARACTER.test(character) || character === '*' || character === '?') continue;
    if (character === '\\') {
      // An escaped letter or digit is a regular expression escape to the library (`\1`, `\d`).
      const next = glob[i + 1];
      if (next === undefined || !'.-_'.includes(next))
        return wrong(`'\\${next ?? ''}' may not be escaped: only '\\.', '\\-' and '\\_' may`);
      i++;
    } else if (CLOSING[character] !== undefined) open.push({ character, at: i, choices: false });
    else if (character === ']' || character === '}' || character === ')') {
      const opener = open.pop();
      if (opener === undefined || CLOSING[opener.character] !== character)
        return wrong(`'${character}' closes nothing`);
      if (character === '}') {
        const braces = glob.slice(opener.at, i + 1);
        const problem = bracesProblem(braces.slice(1, -1), opener.choices);
        if (problem !== undefined) return wrong(`'${braces}' ${problem}`);
      }
    } else if (character === ',' && inside?.character === '{') inside.choices = true;
    else if (character === '|' && inside?.character === '(') continue;
    else if ((character === '@' || character === '+' || character === '!') && glob[i + 1] === '(') continue;
    else if (character === '!' && i === 0) continue;
    else if (character === ',')
      return never("',' separates choices only inside braces: write '{a,b}', or give one glob each");
    else if (character === '|') return never("'|' separates choices only inside an extglob: write '@(a|b)'");
    else return never(`${TAG_CHARACTERS}, not '${character}'`);
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) return `protected tag glob '${glob}' has an unclosed '${unclosed.character}'`;
  // The last word: what the library made of it matches nothing at all.
  return picomatch.makeRe(glob, { dot: true }).source === '$^' ? never('it matches nothing') : undefined;
}

/** The POSIX classes a protected-tag glob may use inside `[...]`. */
const POSIX_CLASSES: ReadonlySet<string> = new Set(['alpha', 'digit', 'alnum', 'lower', 'upper', 'xdigit']);

/**
 * What is wrong with braces holding `content`: without a ',', the library reads them as
 * characters; a range `{a..c}` it reads right only with one letter or digit of one kind at each
 * end, in order (`{1..10}` would match 1 and 0 only).
 */
function bracesProblem(content: string, choices: boolean): string | undefined {
  if (content.includes('..')) {
    const range = /^([a-z]\.\.[a-z]|[A-Z]\.\.[A-Z]|[0-9]\.\.[0-9])$/.exec(content);
    if (!range || content[0]! > content[3]!)
      return "is not a range the glob library reads right: one letter or digit at each end, in order, as in '{1..3}'; for more, write a class or list the choices";
    return undefined;
  }
  return choices ? undefined : "holds no ',', so its braces are read as characters";
}
