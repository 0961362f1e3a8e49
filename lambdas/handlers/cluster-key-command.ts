import { join } from 'node:path';
import { hmacSha256Hex } from '../adapters/crypto';
import { SecretsManagerSecrets } from '../adapters/secrets';
import { JanitorError } from '../core/errors';
import { clusterReportSchema } from '../core/report';
import { clusterKey } from '../core/signature';
import { readStoredSecrets } from '../local/data-dir';

export interface ClusterKeyFlags {
  readonly secretArn?: string;
  /** A `serve` data dir: its `secrets.json` holds the generated ingest secret. */
  readonly dataDir?: string;
}

/** Where the ingest secret is read from. */
type SecretSource =
  | { readonly secret: string }
  | { readonly dataDir: string }
  | { readonly secretArn: string };

/**
 * `registry-janitor cluster-key CLUSTER`: prints the key a cluster's reporter signs with, derived
 * from the ingest secret: with `--secret-arn`, that secret (what was asked for, over the
 * environment); with `--data-dir`, the one a `serve` of that data dir uses, `JANITOR_INGEST_SECRET`
 * when set (serve prefers it and never writes it to disk), else its `secrets.json`; without a
 * flag, `JANITOR_INGEST_SECRET`, else the Secrets Manager secret named by
 * `JANITOR_INGEST_SECRET_ARN`. Returns the exit code.
 */
export async function clusterKeyCommand(
  cluster: string,
  flags: ClusterKeyFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const name = clusterReportSchema.shape.cluster.safeParse(cluster);
  if (!name.success) {
    return fail(2, `invalid cluster name '${cluster}': ${name.error.issues[0]?.message}`);
  }
  if (flags.secretArn !== undefined && flags.dataDir !== undefined) {
    return fail(2, 'pass --secret-arn (a deployed stack) or --data-dir (a serve), not both');
  }
  const source = secretSource(flags, env);
  if (!source) {
    return fail(
      2,
      'set JANITOR_INGEST_SECRET, pass --data-dir of a serve that has started once, or pass --secret-arn (or JANITOR_INGEST_SECRET_ARN) with AWS credentials',
    );
  }
  const secret = await secretOf(source);
  if (typeof secret !== 'string') return secret.exitCode;
  process.stdout.write(`${clusterKey(hmacSha256Hex, secret, cluster)}\n`);
  return 0;
}

/** A flag first (a data dir as `serve` reads it), then the environment's secret, then its ARN. */
function secretSource(flags: ClusterKeyFlags, env: NodeJS.ProcessEnv): SecretSource | undefined {
  if (flags.secretArn !== undefined) return { secretArn: flags.secretArn };
  if (flags.dataDir !== undefined) {
    return env.JANITOR_INGEST_SECRET ? { secret: env.JANITOR_INGEST_SECRET } : { dataDir: flags.dataDir };
  }
  if (env.JANITOR_INGEST_SECRET) return { secret: env.JANITOR_INGEST_SECRET };
  if (env.JANITOR_INGEST_SECRET_ARN) return { secretArn: env.JANITOR_INGEST_SECRET_ARN };
  return undefined;
}

/** The ingest secret `source` holds, or the exit code once stderr says why it could not be read. */
async function secretOf(source: SecretSource): Promise<string | { readonly exitCode: number }> {
  if ('secret' in source) return source.secret;
  if ('dataDir' in source) {
    const file = join(source.dataDir, 'secrets.json');
    try {
      const { ingestSecret } = readStoredSecrets(file);
      if (ingestSecret !== undefined) return ingestSecret;
    } catch (error) {
      return { exitCode: fail(2, (error as Error).message) };
    }
    return {
      exitCode: fail(
        2,
        `${file} holds no ingest secret: is this the data dir of a serve that has started once?`,
      ),
    };
  }
  try {
    return await new SecretsManagerSecrets().get(source.secretArn);
  } catch (error) {
    return { exitCode: fail(1, error instanceof JanitorError ? error.message : String(error)) };
  }
}

function fail(code: number, message: string): number {
  process.stderr.write(`registry-janitor cluster-key: ${message}\n`);
  return code;
}
