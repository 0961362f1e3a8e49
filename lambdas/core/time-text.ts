/** Milliseconds in one hour and one day. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * How long before `now` something happened, in words a person reads at a glance.
 *
 * @example
 * ago(new Date('2026-11-20T00:00:00Z'), new Date('2026-11-22T06:00:00Z')) // '2 days ago'
 */
export function ago(then: Date, now: Date): string {
  const ms = now.getTime() - then.getTime();
  if (ms < 0) return 'just now';
  if (ms < HOUR_MS) return plural(Math.floor(ms / 60_000), 'minute', 'ago');
  if (ms < DAY_MS) return plural(Math.floor(ms / HOUR_MS), 'hour', 'ago');
  return plural(Math.floor(ms / DAY_MS), 'day', 'ago');
}

/** `1 day`, `3 days`, `2 repositories`, with an optional word after. */
export function plural(count: number, unit: string, after = ''): string {
  const text = `${count} ${count === 1 ? unit : pluralOf(unit)}`;
  return after === '' ? text : `${text} ${after}`;
}

/** Plural forms by unit: a plan words thousands of ages in a handful of units. */
const PLURALS = new Map<string, string>();

function pluralOf(unit: string): string {
  let many = PLURALS.get(unit);
  if (many === undefined) {
    many = /[^aeiou]y$/.test(unit) ? `${unit.slice(0, -1)}ies` : `${unit}s`;
    if (PLURALS.size < 100) PLURALS.set(unit, many);
  }
  return many;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, as aws-ecr-gc prints push times. */
export function formatUtc(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** `sha256:2a1fce5b2...`: the first 16 characters of a digest, as aws-ecr-gc prints them. */
export function shortDigest(digest: string): string {
  return `${digest.slice(0, 16)}...`;
}
