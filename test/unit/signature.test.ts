import { createHmac } from 'node:crypto';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import {
  clusterKey,
  constantTimeEqual,
  parseSignatureHeader,
  signatureHeader,
  signatureHeaderProblem,
  verifySignature,
} from '../../lambdas/core/signature';

const NOW = new Date('2026-11-22T18:00:00Z');
const T = NOW.getTime() / 1000;
const KEY = clusterKey(hmacSha256Hex, 'ingest-secret', 'prod-eu');
const BODY = '{"cluster":"prod-eu","observedAt":"2026-11-22T18:00:00Z","images":[]}';

describe('ingest signatures', () => {
  it('derives the cluster key as hex HMAC-SHA256(ingestSecret, "cluster:" + cluster)', () => {
    const expected = createHmac('sha256', 'ingest-secret').update('cluster:prod-eu').digest('hex');
    expect(KEY).toBe(expected);
    expect(KEY).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs t + "." + rawBody with the hex key as ASCII bytes', () => {
    const header = signatureHeader(hmacSha256Hex, KEY, T, BODY);
    const expected = createHmac('sha256', Buffer.from(KEY, 'ascii')).update(`${T}.${BODY}`).digest('hex');
    expect(header).toBe(`t=${T},v1=${expected}`);
  });

  /** Verifies a body signed at `t` (unix seconds) against a server clock at `now`. */
  const signedAt = (t: number, now = NOW) =>
    verifySignature({
      header: signatureHeader(hmacSha256Hex, KEY, t, BODY),
      rawBody: BODY,
      key: KEY,
      now,
      hmac: hmacSha256Hex,
    });

  it('accepts a signature within 300 s and refuses one outside', () => {
    const check = (t: number) => signedAt(t);
    expect(check(T - 300)).toEqual({ ok: true });
    expect(check(T + 300)).toEqual({ ok: true });
    expect(check(T - 301)).toMatchObject({ ok: false, reason: expect.stringContaining('301 s') });
  });

  it("counts whole seconds: 300 s either side is accepted whatever the server clock's milliseconds", () => {
    const late = new Date(NOW.getTime() + 999);
    const check = (t: number) => signedAt(t, late);
    expect(check(T - 300)).toEqual({ ok: true });
    expect(check(T + 300)).toEqual({ ok: true });
    expect(check(T - 301)).toMatchObject({ ok: false, reason: expect.stringContaining('is 301 s from') });
    expect(check(T + 301)).toMatchObject({ ok: false, reason: expect.stringContaining('is 301 s from') });
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['t=1', 'malformed'],
    ['v1=abc', 'malformed'],
    [`t=x,v1=${'a'.repeat(64)}`, 'malformed'],
    [`t=${T},v1=${'a'.repeat(64)}`, 'does not match'],
  ])('refuses header %j', (header, reason) => {
    const result = verifySignature({ header, rawBody: BODY, key: KEY, now: NOW, hmac: hmacSha256Hex });
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining(reason) });
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['garbage', 'malformed'],
    [`t=${T}`, 'malformed'],
    [`t=${T},v1=${'a'.repeat(63)}`, 'malformed'],
    [`t=${T},v1=${'a'.repeat(64)}`, undefined],
    [`t=${T},v1=${'A'.repeat(64)},v1=${'b'.repeat(64)}`, undefined],
  ])('judges the form of header %j without the body or the key', (header, problem) => {
    expect(signatureHeaderProblem(header)).toEqual(
      problem === undefined ? undefined : expect.stringContaining(problem),
    );
  });

  it("refuses a body signed with another cluster's key", () => {
    const other = clusterKey(hmacSha256Hex, 'ingest-secret', 'staging');
    const header = signatureHeader(hmacSha256Hex, other, T, BODY);
    expect(verifySignature({ header, rawBody: BODY, key: KEY, now: NOW, hmac: hmacSha256Hex }).ok).toBe(
      false,
    );
  });

  it('refuses a body changed after signing', () => {
    const header = signatureHeader(hmacSha256Hex, KEY, T, BODY);
    expect(verifySignature({ header, rawBody: `${BODY} `, key: KEY, now: NOW, hmac: hmacSha256Hex }).ok).toBe(
      false,
    );
  });

  it('covers t exactly as sent: a zero-padded t is signed with its zeros', () => {
    const sent = `0${T}`;
    const over = (signed: string) =>
      verifySignature({
        header: `t=${sent},v1=${createHmac('sha256', KEY).update(`${signed}.${BODY}`).digest('hex')}`,
        rawBody: BODY,
        key: KEY,
        now: NOW,
        hmac: hmacSha256Hex,
      });
    expect(over(sent)).toEqual({ ok: true });
    expect(over(String(T))).toMatchObject({ ok: false, reason: 'signature does not match' });
  });

  it('accepts the HMAC in upper-case hex', () => {
    const header = signatureHeader(hmacSha256Hex, KEY, T, BODY).replace(
      /v1=(\w+)/,
      (_, hex: string) => `v1=${hex.toUpperCase()}`,
    );
    expect(header).toMatch(/v1=[0-9A-F]{64}$/);
    expect(verifySignature({ header, rawBody: BODY, key: KEY, now: NOW, hmac: hmacSha256Hex })).toEqual({
      ok: true,
    });
  });

  it('parses several v1 values (key rotation) and compares strings exactly', () => {
    expect(parseSignatureHeader(`t=5,v1=${'a'.repeat(64)},v1=${'b'.repeat(64)}`)?.v1).toHaveLength(2);
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('', 'a')).toBe(false);
  });
});
