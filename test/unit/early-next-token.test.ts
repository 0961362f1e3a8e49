import fc from 'fast-check';
import { tokenIn, UNREADABLE } from '../../lambdas/adapters/early-next-token';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

describe('tokenIn: the next token of a raw JSON answer', () => {
  it.each([
    ['at the end', '{"imageDetails":[{"imageDigest":"sha256:aa"}],"nextToken":"abc=="}', 'abc=='],
    ['at the start', '{"nextToken":"abc","imageDetails":[]}', 'abc'],
    ['with white space around the colon', '{ "imageDetails": [], "nextToken" :\n "t-1" }', 't-1'],
    ['with JSON escapes', '{"nextToken":"a\\"b\\\\c\\u00e9\\/d"}', 'a"b\\cé/d'],
    ['with leading white space', ' \r\n\t{"nextToken":"x"}', 'x'],
    [
      'before a tag of the same name',
      '{"nextToken":"real","imageDetails":[{"imageTags":["nextToken", "nextToken" ]}]}',
      'real',
    ],
    ['null', '{"imageDetails":[],"nextToken":null}', undefined],
    ['absent', '{"imageDetails":[{"imageTags":["nextToken"]}]}', undefined],
    ['empty', '{"nextToken":""}', undefined],
    ['only inside a string', '{"imageDetails":[{"x":"say \\"nextToken\\": \\"no\\""}]}', undefined],
    ['before a longer key that ends like it', '{"nextToken":"real","x\\"nextToken":"fake"}', 'real'],
    [
      'from a nested key of that name, the last one',
      '{"nextToken":"real","other":{"nextToken":"nested"}}',
      'nested',
    ],
  ])('reads a token %s', (_case, body, expected) => {
    expect(tokenIn(bytes(body))).toBe(expected);
  });

  it.each([
    ['a body that is not an object', '[{"nextToken":"x"}]'],
    ['a body that is not JSON', '<html>nextToken</html>'],
    ['a key with a value that is not a string', '{"nextToken":42}'],
    ['a key whose string is cut off', '{"imageDetails":[],"nextToken":"abc'],
    ['a token longer than any ECR sends', `{"nextToken":"${'a'.repeat(9000)}"}`],
  ])('gives up on %s', (_case, body) => {
    expect(tokenIn(bytes(body))).toBe(UNREADABLE);
  });

  it('reads another field when asked', () => {
    expect(tokenIn(bytes('{"NextMarker":"m-2","Functions":[]}'), 'NextMarker')).toBe('m-2');
  });

  it('reads a body that is a view into a larger buffer', () => {
    const backing = Buffer.from('xxxx{"nextToken":"inner"}yyyy', 'utf8');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, backing.length - 8);
    expect(tokenIn(view)).toBe('inner');
  });

  // Any JSON object whose nested objects have no key of that name: what the early reading says is
  // either JSON.parse's answer or "unreadable", never another token.
  const nested = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(
        fc.string({ unit: 'binary' }).filter((key) => key !== 'nextToken'),
        tie('value'),
        { maxKeys: 4 },
      ),
    ),
  })).value;

  it('agrees with JSON.parse on random answers, or gives up', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ unit: 'binary' }).filter((key) => key !== 'nextToken'),
          nested,
          { maxKeys: 5 },
        ),
        fc.option(fc.oneof(fc.string({ unit: 'binary' }), fc.constant(null)), { nil: undefined }),
        fc.nat(5),
        (fields, token, at) => {
          const entries = Object.entries(fields);
          if (token !== undefined) entries.splice(Math.min(at, entries.length), 0, ['nextToken', token]);
          const body = JSON.stringify(Object.fromEntries(entries), null, at % 2 === 0 ? undefined : 1);
          const early = tokenIn(bytes(body));
          const parsed = (JSON.parse(body) as { nextToken?: string | null }).nextToken;
          const expected = parsed === null || parsed === '' ? undefined : parsed;
          if (early !== UNREADABLE) expect(early).toBe(expected);
          // Only a token too long to look at makes it give up on a well-formed answer.
          else expect(JSON.stringify(parsed).length).toBeGreaterThan(8000);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
