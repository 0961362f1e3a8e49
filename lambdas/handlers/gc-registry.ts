import { ECRClient } from '@aws-sdk/client-ecr';
import { EcrRegistry } from '../adapters/ecr-registry';
import { lookupCredentials } from '../adapters/oci-credentials';
import { OciRegistry } from '../adapters/oci-registry';
import { UsageError } from '../core/errors';
import type { Registry } from '../core/ports';
import type { GcFlags } from './gc-command';

/** Flags that only mean something for ECR. (`--aws-usage` is checked in gc-usage.ts.) */
const ECR_ONLY_FLAGS = [
  ['--region', 'region'],
  ['--lifecycle-policy', 'lifecyclePolicy'],
] as const satisfies readonly (readonly [string, keyof GcFlags])[];

/**
 * The registry a `gc` run talks to: an OCI Distribution registry with `--registry URL`, else ECR
 * through the AWS SDK's default chains (region from `--region`, `AWS_REGION`,
 * `AWS_DEFAULT_REGION` or the profile). Throws `UsageError` (exit 2) for flags that cannot work
 * together, before anything is touched.
 */
export async function registryFromFlags(flags: GcFlags, env: NodeJS.ProcessEnv): Promise<Registry> {
  if (flags.registry !== undefined) return ociRegistryFromFlags(flags.registry, flags, env);
  if (!flags.repo || flags.repo.length === 0) {
    throw new UsageError('--repo NAME is required with ECR (repeat it for several repositories)');
  }
  const region = flags.region ?? environmentRegion(env);
  const client = new ECRClient(region ? { region } : {});
  let resolved: string;
  try {
    resolved = await client.config.region();
  } catch (error) {
    if (region === undefined) {
      throw new UsageError('no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)');
    }
    const source = flags.region !== undefined ? '--region' : 'the region from the environment';
    throw new UsageError(`${source} '${region}' is not an AWS region: ${(error as Error).message}`);
  }
  return new EcrRegistry({ client, region: resolved });
}

/**
 * The region the environment names: `AWS_REGION`, else `AWS_DEFAULT_REGION`. A variable set to
 * the empty string counts as unset (CI systems often export every variable they know, empty).
 */
export function environmentRegion(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

/**
 * `--registry URL`: TLS unless the URL says `http://`; credentials from `REGISTRY_USERNAME`/
 * `REGISTRY_PASSWORD` or docker's config.json. `--repo` may be left out (every repository of
 * the catalog).
 */
function ociRegistryFromFlags(value: string, flags: GcFlags, env: NodeJS.ProcessEnv): Registry {
  for (const [flag, key] of ECR_ONLY_FLAGS) {
    if (flags[key] !== undefined)
      throw new UsageError(`${flag} is for ECR only; it cannot be used with --registry`);
  }
  const url = parseRegistryUrl(value);
  return new OciRegistry({ url, ...lookupCredentials(url.host, env) });
}

/**
 * `https://host[:port]`, `http://host[:port]` or a bare `host[:port]` (TLS), with no path but
 * an optional `/` or `/v2/`, and no credentials (never echoed: the message names the setting
 * only). `setting` names where the URL came from, for the message.
 *
 * @example parseRegistryUrl('registry.example.com:5000').href // 'https://registry.example.com:5000/'
 */
export function parseRegistryUrl(value: string, setting = '--registry'): URL {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${setting} expects a URL like https://registry.example.com, got '${shown(value)}'`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(
      `${setting} must not carry credentials: set REGISTRY_USERNAME and REGISTRY_PASSWORD`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${setting} expects an http:// or https:// URL, got '${shown(value)}'`);
  }
  if (!['', '/', '/v2', '/v2/'].includes(url.pathname) || url.search !== '' || url.hash !== '') {
    throw new UsageError(`${setting} takes the registry's address without a path, got '${shown(value)}'`);
  }
  return new URL(`${url.protocol}//${url.host}/`);
}

/** A URL as given, without whatever stands before an `@` (a user name and password). */
const shown = (value: string) => value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, '$1…@');
