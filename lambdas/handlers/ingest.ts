import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { hmacSha256Hex } from '../adapters/crypto';
import { DynamoSightingStore } from '../adapters/dynamo-sighting-store';
import { powertoolsLog } from '../adapters/log';
import { emfMetrics, type Metrics } from '../adapters/metrics';
import { SecretsManagerSecrets } from '../adapters/secrets';
import { SightingsError } from '../core/errors';
import { clusterReportSchema, minutesAhead, parseClusterReport, sightingsFromReport } from '../core/report';
import { clusterKey, type Hmac, signatureHeaderProblem, verifySignature } from '../core/signature';
import type { SightingStore } from '../core/stores';
import { type HttpApiEvent, type HttpApiResult, header, json, type Log, rawBody } from './http-api';

/** Ingest bodies larger than this are refused before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface IngestDeps {
  readonly store: Pick<SightingStore, 'recordReport'>;
  /** The ingest secret the cluster keys derive from. */
  readonly ingestSecret: () => Promise<string>;
  readonly now: () => Date;
  readonly hmac: Hmac;
  readonly log: Log;
  /** Counts stored reports per cluster. @default none */
  readonly metrics?: Metrics;
}

/**
 * `POST /v1/sightings`: checks encoding, type, size and signature, validates the report, stores
 * its sightings. 202 `{accepted, ignored}`; 400 naming the bad field; 401 bad or missing signature;
 * 413 over 1 MiB; 415 not JSON, or compressed (a `Content-Encoding` other than identity); 503 when
 * the store failed (send again). Nothing is stored from a rejected request; no answer carries a
 * stack trace or a secret.
 */
export async function handleIngest(event: HttpApiEvent, deps: IngestDeps): Promise<HttpApiResult> {
  const encoding = unsupportedEncoding(header(event, 'content-encoding'));
  if (encoding !== undefined) {
    return json(415, {
      message: `Content-Encoding '${encoding.length > 40 ? `${encoding.slice(0, 40)}…` : encoding}' is not supported; send the body uncompressed (identity)`,
    });
  }
  if (!isJson(header(event, 'content-type')))
    return json(415, { message: 'Content-Type must be application/json' });
  const body = rawBody(event);
  if (body.bytes > MAX_BODY_BYTES)
    return json(413, { message: `body is larger than ${MAX_BODY_BYTES} bytes` });
  // The header's form is checked before the body is read; its HMAC needs the body's cluster.
  const signature = header(event, 'x-janitor-signature');
  const malformed = signatureHeaderProblem(signature);
  if (malformed !== undefined) return json(401, { message: malformed });
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch {
    return json(400, { message: 'body is not valid JSON' });
  }
  const cluster = clusterReportSchema.shape.cluster.safeParse(
    (value as { cluster?: unknown } | null)?.cluster,
  );
  if (!cluster.success)
    return json(400, { message: `cluster: ${cluster.error.issues[0]?.message ?? 'invalid'}` });
  const now = deps.now();
  const key = clusterKey(deps.hmac, await deps.ingestSecret(), cluster.data);
  const check = verifySignature({ header: signature, rawBody: body.text, key, now, hmac: deps.hmac });
  if (!check.ok) {
    deps.log.warn('ingest refused', { cluster: cluster.data, reason: check.reason });
    return json(401, { message: check.reason });
  }
  return storeReport(value, now, deps);
}

async function storeReport(value: unknown, now: Date, deps: IngestDeps): Promise<HttpApiResult> {
  let report: ReturnType<typeof parseClusterReport>;
  try {
    report = parseClusterReport(value);
  } catch (error) {
    if (error instanceof SightingsError) return json(400, { message: error.message });
    throw error;
  }
  const { sightings, ignored, unusable } = sightingsFromReport(report);
  const observed = new Date(report.observedAt);
  const minutes = minutesAhead(observed, now);
  if (minutes !== undefined) {
    return json(400, {
      message: `observedAt: ${report.observedAt} is ${minutes} minutes after the server's clock (${now.toISOString()}); check the reporter's clock`,
    });
  }
  const observedAt = observed > now ? now : observed;
  if (ignored.length > 0)
    deps.log.warn('ingest ignored entries', { cluster: report.cluster, ignored: ignored.slice(0, 20) });
  try {
    // The parts of one report share its `observedAt`, as sent (the stored time may be clamped).
    const round = report.round ? { key: observed.toISOString(), ...report.round } : undefined;
    const result = await deps.store.recordReport({
      cluster: report.cluster,
      observedAt,
      sightings,
      ...(round ? { round } : {}),
    });
    deps.log.info('ingest stored', {
      cluster: report.cluster,
      entries: report.images.length,
      ...(round ? { part: round.part, parts: round.parts } : {}),
      ...result,
    });
    // The per-cluster silence alarm counts whole reports only.
    if (result.reported) deps.metrics?.clusterReported(report.cluster);
  } catch (error) {
    deps.log.error('ingest could not store the report', { cluster: report.cluster, error: String(error) });
    return json(503, { message: 'the report could not be stored; send it again' });
  }
  return json(202, { accepted: report.images.length - unusable, ignored: unusable });
}

/**
 * The first content coding of a `Content-Encoding` header other than `identity` (any case), if
 * any: the body is read as it arrives, and compressed bytes are no JSON.
 */
function unsupportedEncoding(contentEncoding: string | undefined): string | undefined {
  return (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim())
    .find((coding) => coding !== '' && coding.toLowerCase() !== 'identity');
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

let lambdaDeps: IngestDeps | undefined;

/** The deps of the deployed function, built once per container from its environment. */
function depsFromEnvironment(env: NodeJS.ProcessEnv = process.env): IngestDeps {
  const tableName = env.TABLE_NAME;
  const secretArn = env.INGEST_SECRET_ARN;
  if (!tableName || !secretArn) throw new Error('TABLE_NAME and INGEST_SECRET_ARN must be set');
  const secrets = new SecretsManagerSecrets();
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    store: new DynamoSightingStore({ client: documents, tableName }),
    ingestSecret: () => secrets.get(secretArn),
    now: () => new Date(),
    hmac: hmacSha256Hex,
    log: powertoolsLog('registry-janitor-ingest'),
    metrics: emfMetrics(env.AWS_LAMBDA_FUNCTION_NAME ?? 'registry-janitor-ingest'),
  };
}

/** The Lambda entry point (API Gateway HTTP API, payload format 2.0). */
export async function handler(event: HttpApiEvent): Promise<HttpApiResult> {
  lambdaDeps ??= depsFromEnvironment();
  try {
    return await handleIngest(event, lambdaDeps);
  } catch (error) {
    lambdaDeps.log.error('ingest failed', { error: error instanceof Error ? error.message : String(error) });
    return json(500, { message: 'internal error' });
  }
}
