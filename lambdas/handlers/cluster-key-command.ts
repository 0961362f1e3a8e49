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

/**
 * `registry-janitor cluster-key CLUSTER`: prints the key a cluster's reporter signs with, derived
 * from the ingest secret (`JANITOR_INGEST_SECRET`, or the Secrets Manager secret named by
 * `--secret-arn` / `JANITOR_INGEST_SECRET_ARN`). Returns the exit code.
 */
export async function clusterKeyCommand(
  cluster: string,
  flags: ClusterKeyFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const name = clusterReportSchema.shape.cluster.safeParse(cluster);
  if (!name.success) {
    process.stderr.write(
      `registry-janitor cluster-key: invalid cluster name '${cluster}': ${name.error.issues[0]?.message}\n`,
    );
    return 2;
  }
  const arn = flags.secretArn ?? env.JANITOR_INGEST_SECRET_ARN;
  let secret: string | undefined;
  try {
    secret =
      env.JANITOR_INGEST_SECRET ||
      (flags.dataDir ? readStoredSecrets(join(flags.dataDir, 'secrets.json')).ingestSecret : undefined);
  } catch (error) {
    process.stderr.write(`registry-janitor cluster-key: ${(error as Error).message}\n`);
    return 2;
  }
  if (!secret && !arn) {
    process.stderr.write(
      'registry-janitor cluster-key: set JANITOR_INGEST_SECRET, pass --data-dir of a serve that has started once, or pass --secret-arn (or JANITOR_INGEST_SECRET_ARN) with AWS credentials\n',
    );
    return 2;
  }
  try {
    secret ??= await new SecretsManagerSecrets().get(arn!);
  } catch (error) {
    process.stderr.write(
      `registry-janitor cluster-key: ${error instanceof JanitorError ? error.message : String(error)}\n`,
    );
    return 1;
  }
  process.stdout.write(`${clusterKey(hmacSha256Hex, secret, cluster)}\n`);
  return 0;
}
