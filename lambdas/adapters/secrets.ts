import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeAwsError } from './aws-errors';
import { RegistryAccessError } from './errors';

/**
 * Reads secrets from AWS Secrets Manager, each fetched once per process (Lambda containers
 * keep it across invocations). The value never reaches a log or an error message.
 */
export class SecretsManagerSecrets {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly client: SecretsManagerClient = new SecretsManagerClient({})) {}

  get(secretId: string): Promise<string> {
    let value = this.cache.get(secretId);
    if (!value) {
      value = this.fetch(secretId);
      value.catch(() => this.cache.delete(secretId));
      this.cache.set(secretId, value);
    }
    return value;
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
