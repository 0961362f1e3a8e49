import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { clusterKey } from '../../lambdas/core/signature';
import { type ClusterKeyFlags, clusterKeyCommand } from '../../lambdas/handlers/cluster-key-command';

const secretsManager = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ingest';
const ENV_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:from-env';
const SECRETS = {
  manager: 'm'.repeat(64),
  envArn: 'e'.repeat(64),
  env: 'v'.repeat(64),
  dataDir: 'd'.repeat(64),
};
const keyFrom = (secret: string) => `${clusterKey(hmacSha256Hex, secret, 'prod-eu')}\n`;

/** A data dir as `serve` leaves it, its secrets.json holding `SECRETS.dataDir`. */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'janitor-cluster-key-'));
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ ingestSecret: SECRETS.dataDir }));
  return dir;
}

/** Runs the command in process; what it wrote to stdout and stderr, and its exit code. */
async function run(flags: ClusterKeyFlags, env: NodeJS.ProcessEnv) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((text) => stdout.push(String(text)) > 0);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((text) => stderr.push(String(text)) > 0);
  try {
    const code = await clusterKeyCommand('prod-eu', flags, env);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeEach(() => {
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: SECRETS.manager });
  secretsManager.on(GetSecretValueCommand, { SecretId: ENV_ARN }).resolves({ SecretString: SECRETS.envArn });
});

describe('registry-janitor cluster-key: where the ingest secret comes from', () => {
  it.each([
    [
      '--secret-arn over JANITOR_INGEST_SECRET',
      { secretArn: ARN },
      { JANITOR_INGEST_SECRET: SECRETS.env },
      SECRETS.manager,
    ],
    [
      '--secret-arn over JANITOR_INGEST_SECRET_ARN',
      { secretArn: ARN },
      { JANITOR_INGEST_SECRET_ARN: ENV_ARN },
      SECRETS.manager,
    ],
    // serve takes JANITOR_INGEST_SECRET over its secrets.json, and so does its cluster key.
    [
      '--data-dir with JANITOR_INGEST_SECRET as serve does: the environment',
      { dataDir: '<dir>' },
      { JANITOR_INGEST_SECRET: SECRETS.env },
      SECRETS.env,
    ],
    [
      '--data-dir over JANITOR_INGEST_SECRET_ARN',
      { dataDir: '<dir>' },
      { JANITOR_INGEST_SECRET_ARN: ENV_ARN },
      SECRETS.dataDir,
    ],
    [
      'JANITOR_INGEST_SECRET over JANITOR_INGEST_SECRET_ARN, without flags',
      {},
      { JANITOR_INGEST_SECRET: SECRETS.env, JANITOR_INGEST_SECRET_ARN: ENV_ARN },
      SECRETS.env,
    ],
    ['JANITOR_INGEST_SECRET_ARN alone', {}, { JANITOR_INGEST_SECRET_ARN: ENV_ARN }, SECRETS.envArn],
  ])('takes %s', async (_name, flags: ClusterKeyFlags, env, secret) => {
    // Prepare
    const given = flags.dataDir ? { ...flags, dataDir: dataDir() } : flags;

    // Act
    const result = await run(given, env);

    // Assess
    expect(result).toEqual({ code: 0, stdout: keyFrom(secret), stderr: '' });
    expect(
      secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId),
    ).toEqual(secret === SECRETS.manager ? [ARN] : secret === SECRETS.envArn ? [ENV_ARN] : []);
  });

  it('exits 2 naming the file when --data-dir holds no ingest secret, and reads no other', async () => {
    // Prepare
    const empty = mkdtempSync(join(tmpdir(), 'janitor-cluster-key-'));

    // Act
    const result = await run({ dataDir: empty }, { JANITOR_INGEST_SECRET_ARN: ENV_ARN });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(empty, 'secrets.json')} holds no ingest secret`);
    expect(result.stdout).toBe('');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('gives the key a serve of the data dir accepts, whatever the environment holds', async () => {
    // Prepare: serve, started with and without JANITOR_INGEST_SECRET.
    const { loadSecrets } = await import('../../lambdas/local/data-dir');
    const dir = mkdtempSync(join(tmpdir(), 'janitor-cluster-key-'));
    for (const env of [{}, { JANITOR_INGEST_SECRET: SECRETS.env }]) {
      const served = loadSecrets(dir, env).ingestSecret;

      // Act
      const result = await run({ dataDir: dir }, env);

      // Assess
      expect(result).toEqual({ code: 0, stdout: keyFrom(served), stderr: '' });
    }
  });

  it('refuses --secret-arn with --data-dir, exit 2, naming both', async () => {
    // Act
    const result = await run({ secretArn: ARN, dataDir: dataDir() }, {});

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--secret-arn');
    expect(result.stderr).toContain('--data-dir');
    expect(result.stdout).toBe('');
  });
});
