import { createHmac } from 'node:crypto';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { checkLink, hexToBase64Url, linkSignature, reviewUrl } from '../../lambdas/core/signed-link';

const SECRET = 'link-secret';
const NOW = new Date('2026-11-22T18:00:00Z');
const EXP = NOW.getTime() / 1000 + 3600;

describe('signed review links', () => {
  it('signs id + "." + exp as base64url HMAC-SHA256 of the link secret', () => {
    const expected = createHmac('sha256', SECRET).update(`plan-1.${EXP}`).digest('base64url');
    expect(linkSignature(hmacSha256Hex, SECRET, 'plan-1', EXP)).toBe(expected);
  });

  it.each(['', '00', 'ff', 'abcd', 'abcdef', 'abcdef01', 'deadbeefcafe00'])(
    'encodes hex %j as Node does',
    (hex) => {
      expect(hexToBase64Url(hex)).toBe(Buffer.from(hex, 'hex').toString('base64url'));
    },
  );

  it('builds the review URL of DESIGN.md', () => {
    const sig = linkSignature(hmacSha256Hex, SECRET, 'plan-1', EXP);
    expect(reviewUrl('https://x.execute-api.eu-west-1.amazonaws.com/prod/', 'plan-1', EXP, sig)).toBe(
      `https://x.execute-api.eu-west-1.amazonaws.com/prod/v1/plans/plan-1?exp=${EXP}&sig=${sig}`,
    );
  });

  const check = (overrides: {
    planId?: string;
    exp?: string | undefined;
    sig?: string | undefined;
    now?: Date;
  }) =>
    checkLink({
      hmac: hmacSha256Hex,
      linkSecret: SECRET,
      planId: 'plan-1',
      exp: String(EXP),
      sig: linkSignature(hmacSha256Hex, SECRET, 'plan-1', EXP),
      now: NOW,
      ...overrides,
    });

  it('verifies a good link and refuses a tampered one', () => {
    expect(check({})).toBe('valid');
    expect(check({ planId: 'plan-2' })).toBe('forged');
    expect(check({ exp: String(EXP + 1) })).toBe('forged');
    expect(check({ sig: 'x' })).toBe('forged');
    expect(check({ sig: undefined })).toBe('forged');
    expect(check({ exp: 'soon' })).toBe('forged');
  });

  it('covers exp exactly as the link writes it', () => {
    const padded = `0${EXP}`;
    expect(check({ exp: padded })).toBe('forged');
    expect(check({ exp: padded, sig: linkSignature(hmacSha256Hex, SECRET, 'plan-1', padded) })).toBe('valid');
  });

  it('takes the signature with its base64url padding too, as other encoders write it', () => {
    // Prepare: Python's base64.urlsafe_b64encode, or Node's 'base64' with the URL alphabet.
    const padded = createHmac('sha256', SECRET)
      .update(`plan-1.${EXP}`)
      .digest('base64')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');

    // Act, Assess
    expect(padded).toMatch(/^[\w-]{43}=$/);
    expect(check({ sig: padded })).toBe('valid');
    expect(check({ sig: `${padded}=` })).toBe('forged');
    expect(check({ sig: `${padded.slice(0, 42)}A=` })).toBe('forged');
  });

  it('calls a well-signed link past its expiry expired', () => {
    expect(check({ now: new Date((EXP + 1) * 1000) })).toBe('expired');
  });
});
