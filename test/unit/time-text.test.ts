import fc from 'fast-check';
import { ago, formatUtc } from '../../lambdas/core/time-text';

/** What aws-ecr-gc's lines show, from the ISO form. */
const isoForm = (date: Date) => date.toISOString().slice(0, 19).replace('T', ' ');

describe('formatUtc', () => {
  it.each([
    ['2026-11-22T06:05:04.999Z', '2026-11-22 06:05:04'],
    ['1970-01-01T00:00:00.000Z', '1970-01-01 00:00:00'],
    ['1969-12-31T23:59:59.999Z', '1969-12-31 23:59:59'],
    ['2024-02-29T12:00:00.000Z', '2024-02-29 12:00:00'],
    ['2000-03-01T00:00:00.000Z', '2000-03-01 00:00:00'],
    ['2100-02-28T23:59:59.000Z', '2100-02-28 23:59:59'],
    ['0001-01-01T00:00:00.000Z', '0001-01-01 00:00:00'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31 23:59:59'],
  ])('prints %s as %s', (iso, expected) => {
    expect(formatUtc(new Date(iso))).toBe(expected);
  });

  it.each([
    ['in years 0-9999 (computed)', new Date('0000-01-01T00:00:00Z'), new Date('9999-12-31T23:59:59.999Z')],
    ['outside them too (ISO)', new Date(-8.64e15), new Date(8.64e15)],
  ])('prints any date as its ISO form does, %s', (_, min, max) => {
    fc.assert(
      fc.property(fc.date({ min, max, noInvalidDate: true }), (date) => {
        expect(formatUtc(date)).toBe(isoForm(date));
      }),
      { numRuns: 20_000 },
    );
  });

  it('prints runs of dates that share a day, and leave it and come back, as their ISO form does', () => {
    // The date part is kept from one call to the next: these sequences reuse it, and must not reuse it wrongly.
    const base = Date.UTC(2026, 10, 22);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }), { maxLength: 50 }),
        (offsets) => {
          for (const offset of offsets) {
            const date = new Date(base + offset);
            expect(formatUtc(date)).toBe(isoForm(date));
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('refuses an invalid date as toISOString does', () => {
    expect(() => formatUtc(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('ago', () => {
  const now = new Date('2026-11-22T06:00:00Z');
  it.each([
    ['2026-11-22T07:00:00Z', 'just now'],
    ['2026-11-22T05:59:30Z', 'just now'],
    ['2026-11-22T05:59:00Z', '1 minute ago'],
    ['2026-11-22T04:00:00Z', '2 hours ago'],
    ['2026-11-20T00:00:00Z', '2 days ago'],
  ])('says %s was %s', (then, expected) => {
    expect(ago(new Date(then), now)).toBe(expected);
  });
});
