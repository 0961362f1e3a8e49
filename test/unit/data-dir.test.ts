import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../lambdas/core/errors';
import { loadSecrets, lockDataDir } from '../../lambdas/local/data-dir';

/** A data dir whose secrets.json holds `text`. */
function dataDir(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'janitor-data-dir-'));
  writeFileSync(join(dir, 'secrets.json'), text);
  return dir;
}

describe('loadSecrets', () => {
  it('keeps the secrets a data dir holds, and generates and stores a missing one', () => {
    const dir = dataDir(JSON.stringify({ ingestSecret: 'ingest-secret' }));
    const secrets = loadSecrets(dir, {});
    expect(secrets.ingestSecret).toBe('ingest-secret');
    expect(secrets.linkSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'))).toEqual(secrets);
  });

  it.each([
    ['null', 'the file: Invalid input: expected object, received null'],
    ['{"ingestSecret":12345678}', 'ingestSecret: Invalid input: expected string, received number'],
    ['{"linkSecret":""}', 'linkSecret: Too small'],
    ['{"ingestSecret":', 'is not valid JSON'],
  ])('refuses secrets.json holding %s, naming the file and field and never a value', (text, message) => {
    const dir = dataDir(text);
    const loading = () => loadSecrets(dir, {});
    expect(loading).toThrow(UsageError);
    expect(loading).toThrow(`${join(dir, 'secrets.json')}`);
    expect(loading).toThrow(message);
    expect(loading).not.toThrow(/12345678/);
  });
});

describe('lockDataDir', () => {
  it("makes a missing data dir its owner's only, and refuses a second holder", () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'janitor-data-dir-')), 'new', '.janitor');
    const umask = process.umask(0o022);
    let lock: { release(): void } | undefined;
    try {
      lock = lockDataDir(dir);
    } finally {
      process.umask(umask);
    }
    try {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(readFileSync(join(dir, 'serve.lock'), 'utf8')).toBe(String(process.pid));
      // Held by this process (serve, while retire-cluster runs in the same process in tests).
      expect(() => lockDataDir(dir)).toThrow(`another registry-janitor serve (pid ${process.pid}) is using`);
      // Another live process holding it (here: this test's parent).
      writeFileSync(join(dir, 'serve.lock'), String(process.ppid));
      expect(() => lockDataDir(dir)).toThrow(UsageError);
      expect(() => lockDataDir(dir)).toThrow(`another registry-janitor serve (pid ${process.ppid}) is using`);
    } finally {
      lock.release();
    }
  });

  it('takes over a lock naming its own pid: left by a crash, as a restarted container is pid 1 again', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'janitor-data-dir-'));
    writeFileSync(join(dir, 'serve.lock'), String(process.pid));

    // Act
    const lock = lockDataDir(dir);

    // Assess
    expect(readFileSync(join(dir, 'serve.lock'), 'utf8')).toBe(String(process.pid));
    lock.release();
    expect(existsSync(join(dir, 'serve.lock'))).toBe(false);
  });
});
