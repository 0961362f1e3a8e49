import {
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { RegistryAccessError } from '../../lambdas/adapters/errors';
import { SECRET_MAX_AGE_MS, SecretsManagerSecrets } from '../../lambdas/adapters/secrets';

const secretsManager = mockClient(SecretsManagerClient);
beforeEach(() => secretsManager.reset());

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ingest';
const denied = () =>
  new SecretsManagerServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: {},
    message: 'not authorized',
  });

/** Secrets read through the mocked client, on a clock the test moves. */
function secretsAt(start = 0) {
  const clock = { ms: start };
  const secrets = new SecretsManagerSecrets(new SecretsManagerClient({ region: 'eu-west-1' }), {
    now: () => clock.ms,
  });
  return { secrets, clock };
}

describe('SecretsManagerSecrets', () => {
  it('reads a secret once while it is fresh, and again once it is older than the maximum age', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'before' })
      .resolvesOnce({ SecretString: 'after rotation' });
    const { secrets, clock } = secretsAt();

    // Act
    const first = await secrets.get(ARN);
    clock.ms += SECRET_MAX_AGE_MS - 1;
    const fresh = await secrets.get(ARN);
    clock.ms += 1;
    const readAgain = await secrets.get(ARN);

    // Assess
    expect([first, fresh, readAgain]).toEqual(['before', 'before', 'after rotation']);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps using the value read before while reading it again fails', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'before' })
      .rejectsOnce(denied())
      .resolvesOnce({ SecretString: 'after' });
    const { secrets, clock } = secretsAt();
    await secrets.get(ARN);

    // Act
    clock.ms += SECRET_MAX_AGE_MS;
    const whileFailing = await secrets.get(ARN);
    const nextTry = await secrets.get(ARN);

    // Assess
    expect([whileFailing, nextTry]).toEqual(['before', 'after']);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('fails a first read naming the permission, and tries again next time', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).rejectsOnce(denied()).resolvesOnce({ SecretString: 's3cret' });
    const { secrets } = secretsAt();

    // Act
    const failed = secrets.get(ARN);

    // Assess
    await expect(failed).rejects.toThrow(RegistryAccessError);
    await expect(failed).rejects.toThrow(/lack secretsmanager:GetSecretValue on arn:aws:secretsmanager/);
    expect(await secrets.get(ARN)).toBe('s3cret');
  });

  it('refuses a secret without a string value', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) });
    await expect(secretsAt().secrets.get(ARN)).rejects.toThrow(`secret ${ARN} has no string value`);
  });
});
