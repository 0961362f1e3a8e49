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
  if (ms < 60_000) return 'just now';
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

/** The last millisecond of the year 9999: later (and earlier than year 0) dates print as ISO does. */
const YEAR_9999_END_MS = 253_402_300_799_999;
const YEAR_0_START_MS = -62_167_219_200_000;

/**
 * `YYYY-MM-DD HH:MM:SS` in UTC, as aws-ecr-gc prints push times. Computed from the time value:
 * `gc` prints a line per image, and `toISOString` costs four times as much. The date part is
 * kept for the last day asked (`gc` prints newest first, so most lines share their day with the
 * one before); the time part is read from a table. Outside years 0-9999, and for an invalid date
 * (which throws `RangeError`), it is `toISOString`'s.
 */
export function formatUtc(date: Date): string {
  const ms = date.getTime();
  if (!(ms >= YEAR_0_START_MS && ms <= YEAR_9999_END_MS))
    return date.toISOString().slice(0, 19).replace('T', ' ');
  const days = Math.floor(ms / DAY_MS);
  if (days !== lastDay.days) {
    lastDay.days = days;
    lastDay.text = civilDate(days);
  }
  const seconds = Math.floor((ms - days * DAY_MS) / 1000);
  const minutes = Math.floor(seconds / 60);
  return `${lastDay.text} ${TWO_DIGITS[Math.floor(minutes / 60)]}:${TWO_DIGITS[minutes % 60]}:${TWO_DIGITS[seconds % 60]}`;
}

/** The day `formatUtc` formatted last, and its `YYYY-MM-DD`. */
const lastDay = { days: Number.NaN, text: '' };

/** `00` to `59`. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, value) =>
  value < 10 ? `0${value}` : `${value}`,
);

/** `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`). */
function civilDate(days: number): string {
  const shifted = days + 719_468; // days since 0000-03-01
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}`;
}

/** `sha256:2a1fce5b2...`: the first 16 characters of a digest, as aws-ecr-gc prints them. */
export function shortDigest(digest: string): string {
  return `${digest.slice(0, 16)}...`;
}
