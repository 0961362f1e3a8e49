import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { newSecret } from '../adapters/crypto';
import { UsageError } from '../core/errors';

/** The secrets `serve` signs with: from the environment, else generated once into the data dir. */
export interface LocalSecrets {
  readonly ingestSecret: string;
  readonly linkSecret: string;
}

/**
 * Reads `JANITOR_INGEST_SECRET` / `JANITOR_LINK_SECRET`, else `<dataDir>/secrets.json` (created
 * on first start with mode 0600). Never prints a secret.
 */
export function loadSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): LocalSecrets {
  const file = join(dataDir, 'secrets.json');
  const stored = readStoredSecrets(file);
  const ingestSecret = env.JANITOR_INGEST_SECRET || stored.ingestSecret;
  const linkSecret = env.JANITOR_LINK_SECRET || stored.linkSecret;
  const secrets: LocalSecrets = {
    ingestSecret: ingestSecret || newSecret(),
    linkSecret: linkSecret || newSecret(),
  };
  if (!ingestSecret || !linkSecret) {
    // Keep what was generated; a secret given in the environment is never written to disk.
    save(file, {
      ...stored,
      ...(ingestSecret ? {} : { ingestSecret: secrets.ingestSecret }),
      ...(linkSecret ? {} : { linkSecret: secrets.linkSecret }),
    });
  }
  return secrets;
}

const storedSecretsSchema = z.object({
  ingestSecret: z.string().min(1).optional(),
  linkSecret: z.string().min(1).optional(),
});

/**
 * The secrets a data dir's `secrets.json` holds (none when there is no file). A file that is not
 * JSON, or holds a secret that is not a string, is a `UsageError` naming the file and the field
 * (never the value).
 */
export function readStoredSecrets(file: string): Partial<LocalSecrets> {
  if (!existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON (${(error as Error).message}); fix or remove it`);
  }
  const parsed = storedSecretsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'the file';
    throw new UsageError(`${file}: ${field}: ${issue?.message ?? 'invalid'}; fix or remove it`);
  }
  const { ingestSecret, linkSecret } = parsed.data;
  return {
    ...(ingestSecret === undefined ? {} : { ingestSecret }),
    ...(linkSecret === undefined ? {} : { linkSecret }),
  };
}

function save(file: string, secrets: Partial<LocalSecrets>): void {
  // Aside, then renamed: a crash mid-write never leaves a secrets file that stops the next start.
  writeWhole(file, `${JSON.stringify(secrets, null, 2)}\n`, 0o600);
  chmodSync(file, 0o600);
}

/** The lock files this process holds now: one naming this pid and not held here is a crash's. */
const HELD = new Set<string>();

/**
 * Takes `<dataDir>/serve.lock` for this process: a second `serve` on the same data dir refuses
 * to start with a clear message; a lock left by a process that is gone is taken over, and so is
 * one naming this very pid that this process does not hold (a crashed serve in a container,
 * restarted as pid 1 again).
 */
export function lockDataDir(dataDir: string): { release(): void } {
  // Its owner's only when made here: it holds the secrets, the database and the outbox.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = resolve(dataDir, 'serve.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      HELD.add(file);
      return {
        release: () => {
          HELD.delete(file);
          if (existsSync(file) && readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      const crashedAsUs = holder === process.pid && !HELD.has(file);
      if (Number.isInteger(holder) && holder > 0 && !crashedAsUs && isAlive(holder)) {
        throw new UsageError(
          `another registry-janitor serve (pid ${holder}) is using ${dataDir}; stop it or pass another --data-dir`,
        );
      }
      unlinkSync(file);
    }
  }
  throw new UsageError(`could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes `file` aside, then renames it into place: a crash never leaves half a file. */
export function writeWhole(file: string, text: string, mode?: number): void {
  const aside = `${file}.${process.pid}.tmp`;
  writeFileSync(aside, text, mode === undefined ? {} : { mode });
  renameSync(aside, file);
}
