/**
 * The ingest signature (`X-Janitor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`) and the
 * per-cluster key it is made with. The HMAC itself is a port (`Hmac`): the core stays pure.
 */

/** HMAC-SHA256 of `message` (UTF-8) under `key` (UTF-8), as lowercase hex. */
export type Hmac = (key: string, message: string) => string;

/** Requests are accepted only within this many seconds of the server clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * The key a cluster's reporter signs with: hex HMAC-SHA256(ingestSecret, "cluster:" + cluster).
 * Its 64 hex characters, as ASCII, are the HMAC key of the request signature.
 *
 * @example
 * clusterKey(hmacSha256Hex, secret, 'prod-eu') // '3f1c…' (64 hex)
 */
export function clusterKey(hmac: Hmac, ingestSecret: string, cluster: string): string {
  return hmac(ingestSecret, `cluster:${cluster}`);
}

/** The header value for `rawBody` sent at `unixSeconds`. */
export function signatureHeader(hmac: Hmac, key: string, unixSeconds: number, rawBody: string): string {
  return `t=${unixSeconds},v1=${hmac(key, `${unixSeconds}.${rawBody}`)}`;
}

const MISSING = 'missing X-Janitor-Signature header';
const MALFORMED = 'malformed X-Janitor-Signature header (expected t=<unix seconds>,v1=<hex>)';

/** Why a signature was refused; the text is safe to send back (it names no secret). */
export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Verifies a signature header against the body and the cluster's key: well-formed, within
 * `SIGNATURE_TOLERANCE_SECONDS` of `now`, and equal in constant time to the expected HMAC.
 */
export function verifySignature(input: {
  readonly header: string | undefined;
  readonly rawBody: string;
  readonly key: string;
  readonly now: Date;
  readonly hmac: Hmac;
}): SignatureCheck {
  if (input.header === undefined || input.header === '') return { ok: false, reason: MISSING };
  const parsed = parseSignatureHeader(input.header);
  if (!parsed) return { ok: false, reason: MALFORMED };
  // Whole seconds on both sides, as `t` is: 300 s early or late is still within 300 s.
  const skew = Math.abs(Math.floor(input.now.getTime() / 1000) - parsed.t);
  if (skew > SIGNATURE_TOLERANCE_SECONDS) {
    return {
      ok: false,
      reason: `signature timestamp is ${skew} s from the server clock (limit ${SIGNATURE_TOLERANCE_SECONDS} s)`,
    };
  }
  // Signed over `t` exactly as sent (a zero-padded `t` is signed with its zeros).
  const expected = input.hmac(input.key, `${parsed.signedT}.${input.rawBody}`);
  const valid = parsed.v1.some((candidate) => constantTimeEqual(candidate, expected));
  return valid ? { ok: true } : { ok: false, reason: 'signature does not match' };
}

/**
 * Why a signature header cannot be checked at all, or undefined when it is well-formed: it is
 * missing, or not `t=<digits>,v1=<64 hex>`. Needs neither the body nor the key, so an edge can
 * answer it before reading the body.
 */
export function signatureHeaderProblem(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return MISSING;
  return parseSignatureHeader(header) ? undefined : MALFORMED;
}

/**
 * Reads `t=<digits>,v1=<64 hex>[,v1=...]`; undefined when malformed. `signedT` is `t` as written,
 * which is what the HMAC covers; each `v1` is lowercased (hex of either case is accepted).
 */
export function parseSignatureHeader(
  header: string,
): { t: number; signedT: string; v1: string[] } | undefined {
  let signedT: string | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [name, value, ...rest] = part.trim().split('=');
    if (value === undefined || rest.length > 0) return undefined;
    if (name === 't' && /^\d{1,12}$/.test(value)) signedT = value;
    else if (name === 'v1' && /^[0-9a-fA-F]{64}$/.test(value)) v1.push(value.toLowerCase());
    else return undefined;
  }
  return signedT === undefined || v1.length === 0 ? undefined : { t: Number(signedT), signedT, v1 };
}

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++)
    diff |= (a.charCodeAt(i % (a.length || 1)) || 0) ^ (b.charCodeAt(i % (b.length || 1)) || 0);
  return diff === 0;
}
