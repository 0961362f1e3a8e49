import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeAwsError } from './aws-errors';
import { RegistryAccessError } from './errors';

/** How long a secret read is used before it is read again. */
export const SECRET_MAX_AGE_MS = 5 * 60_000;

export interface SecretsOptions {
  /** @default SECRET_MAX_AGE_MS */
  readonly maxAgeMs?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

interface Cached {
  readonly value: Promise<string>;
  readonly readAt: number;
}

/**
 * Reads secrets from AWS Secrets Manager. A value is kept for `maxAgeMs` (Lambda containers keep
 * it across invocations), then read again: a secret changed by hand (a planned rotation) reaches
 * every warm container within that time, without a redeploy. If reading it again fails, the
 * value read before is used until a read succeeds. The value never reaches a log or an error
 * message.
 */
export class SecretsManagerSecrets {
  private readonly cache = new Map<string, Cached>();
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient = new SecretsManagerClient({}),
    options: SecretsOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? SECRET_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  get(secretId: string): Promise<string> {
    const cached = this.cache.get(secretId);
    const now = this.now();
    if (cached && now - cached.readAt < this.maxAgeMs) return cached.value;
    const read = this.fetch(secretId);
    // A failed read again falls back to the value read before.
    const entry = { value: cached ? read.catch(() => cached.value) : read, readAt: now };
    this.cache.set(secretId, entry);
    // A failed read is not kept: the next call reads again.
    read.catch(() => {
      if (this.cache.get(secretId) !== entry) return;
      if (cached) this.cache.set(secretId, cached);
      else this.cache.delete(secretId);
    });
    return entry.value;
  }

  private async fetch(secretId: string): Promise<string> {
    try {
      const answer = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (answer.SecretString === undefined || answer.SecretString === '') {
        throw new RegistryAccessError(`secret ${secretId} has no string value`);
      }
      return answer.SecretString;
    } catch (error) {
      if (error instanceof RegistryAccessError) throw error;
      throw new RegistryAccessError(describeAwsError(error, 'secretsmanager:GetSecretValue', secretId), {
        cause: error,
      });
    }
  }
}
