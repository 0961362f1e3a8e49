import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { clusterKey } from '../../lambdas/core/signature';
import { runCli } from '../fixtures/run-cli';

/** A data dir as `serve` leaves it, with `secrets` as its secrets.json. */
function dataDir(secrets: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'janitor-cluster-key-'));
  writeFileSync(join(dir, 'secrets.json'), JSON.stringify(secrets));
  return dir;
}

describe('registry-janitor cluster-key', () => {
  it('prints the key of a cluster from the ingest secret serve generated (--data-dir, as serve says)', async () => {
    const secret = 'a'.repeat(64);
    const result = await runCli(['cluster-key', 'prod-eu', '--data-dir', dataDir({ ingestSecret: secret })]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(`${clusterKey(hmacSha256Hex, secret, 'prod-eu')}\n`);
  });

  it('exits 2 naming the file and field when secrets.json holds no usable secret, and never the value', async () => {
    const dir = dataDir({ ingestSecret: 12345678 });
    const result = await runCli(['cluster-key', 'prod-eu', '--data-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(dir, 'secrets.json')}: ingestSecret: Invalid input: expected string`,
    );
    expect(result.stderr).not.toContain('12345678');
    expect(result.stdout).toBe('');
  });
});
