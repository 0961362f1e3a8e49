import type { Hmac } from './signature';
import { constantTimeEqual } from './signature';

/** How long a review link stays valid by default. */
export const DEFAULT_LINK_EXPIRY_DAYS = 7;

/**
 * The signature of a review link: base64url(HMAC-SHA256(linkSecret, id + "." + exp)), no padding;
 * `exp` as the link writes it.
 *
 * @example
 * linkSignature(hmacSha256Hex, secret, 'p-2026-11-22T06', 1764000000) // 'q3Jm…' (43 chars)
 */
export function linkSignature(hmac: Hmac, linkSecret: string, planId: string, exp: number | string): string {
  return hexToBase64Url(hmac(linkSecret, `${planId}.${exp}`));
}

/** The review URL of a plan: `<base>/v1/plans/<id>?exp=<unix>&sig=<base64url>`. */
export function reviewUrl(baseUrl: string, planId: string, exp: number, sig: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1/plans/${encodeURIComponent(planId)}?exp=${exp}&sig=${sig}`;
}

/** The result of checking a link: its signature first (403), then its expiry (410). */
export type LinkCheck = 'valid' | 'forged' | 'expired';

/**
 * Checks a review link in constant time. A bad or missing signature is `forged` whatever the
 * expiry says; a good one past `exp` is `expired`. The signature may carry its padding.
 */
export function checkLink(input: {
  readonly hmac: Hmac;
  readonly linkSecret: string;
  readonly planId: string;
  readonly exp: string | undefined;
  readonly sig: string | undefined;
  readonly now: Date;
}): LinkCheck {
  if (input.exp === undefined || input.sig === undefined || !/^\d{1,12}$/.test(input.exp)) return 'forged';
  // Over `exp` exactly as the link has it: an `exp` written differently is another link.
  const expected = linkSignature(input.hmac, input.linkSecret, input.planId, input.exp);
  // A 32-byte HMAC in base64url is 43 characters, and one `=` when its encoder pads.
  const sig = input.sig.length === 44 && input.sig.endsWith('=') ? input.sig.slice(0, 43) : input.sig;
  if (!constantTimeEqual(sig, expected)) return 'forged';
  return input.now.getTime() / 1000 > Number(input.exp) ? 'expired' : 'valid';
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Lowercase hex to unpadded base64url, without Buffer (the core has no Node globals). */
export function hexToBase64Url(hex: string): string {
  const bytes: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) bytes.push(Number.parseInt(hex.slice(i, i + 2), 16));
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const triple = (a << 16) | (b << 8) | c;
    const chars = i + 1 >= bytes.length ? 2 : i + 2 >= bytes.length ? 3 : 4;
    for (let k = 0; k < chars; k++) out += BASE64URL[(triple >> (18 - 6 * k)) & 63];
  }
  return out;
}
