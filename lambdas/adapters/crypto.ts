import { createHmac, randomBytes } from 'node:crypto';
import type { Hmac } from '../core/signature';

/** HMAC-SHA256 as lowercase hex, for the core's signature and link functions. */
export const hmacSha256Hex: Hmac = (key, message) =>
  createHmac('sha256', key).update(message, 'utf8').digest('hex');

/** A new random secret: 32 bytes as 64 hex characters. */
export function newSecret(): string {
  return randomBytes(32).toString('hex');
}
