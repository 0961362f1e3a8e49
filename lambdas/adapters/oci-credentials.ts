import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core/errors';

/**
 * Credentials for one registry host. `source` says where they came from, for messages; no
 * message ever carries the secret itself.
 */
export type RegistryCredentials =
  | {
      readonly kind: 'password';
      readonly username: string;
      readonly password: string;
      readonly source: string;
    }
  | { readonly kind: 'identity-token'; readonly identityToken: string; readonly source: string };

/** What the lookup found: credentials, and a note for "credentials required" messages. */
export interface CredentialLookup {
  readonly credentials?: RegistryCredentials;
  /** e.g. that config.json names a credential helper, which registry-janitor does not run. */
  readonly note?: string;
}

interface DockerAuthEntry {
  readonly auth?: unknown;
  readonly username?: unknown;
  readonly password?: unknown;
  readonly identitytoken?: unknown;
}

/**
 * Finds credentials for `host` (`host[:port]`): `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` when set,
 * else `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`) `auths[...]` under the key
 * `host[:port]` or a URL of it (`https://host[:port]`, `https://host/v1/`, as docker writes
 * them), with `auth` (base64 `user:pass`), `username`/`password` or `identitytoken`. No file, or
 * no entry, means anonymous access. Throws `UsageError` (exit 2) for a half-set pair of
 * variables or a config file that cannot be read.
 *
 * @example
 * lookupCredentials('registry.example.com:5000', process.env).credentials?.source // 'REGISTRY_USERNAME/REGISTRY_PASSWORD'
 */
export function lookupCredentials(
  host: string,
  env: NodeJS.ProcessEnv,
  readText: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): CredentialLookup {
  const username = env.REGISTRY_USERNAME;
  const password = env.REGISTRY_PASSWORD;
  if (username !== undefined || password !== undefined) {
    if (!username || password === undefined) {
      throw new UsageError('set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither');
    }
    return {
      credentials: { kind: 'password', username, password, source: 'REGISTRY_USERNAME/REGISTRY_PASSWORD' },
    };
  }
  // Empty is unset, as docker reads them: `DOCKER_CONFIG=` must not mean the working directory.
  const path = join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
  const config = readDockerConfig(path, readText);
  if (config === undefined) return {};
  const key = matchingKey(Object.keys(config.auths), host);
  const entry = key === undefined ? undefined : config.auths[key];
  const credentials = entry === undefined ? undefined : fromEntry(entry, `${path} auths["${key}"]`);
  if (credentials) return { credentials };
  const helper = config.credHelpers[host] ?? config.credsStore;
  return helper === undefined
    ? {}
    : {
        note: `${path} names the credential helper '${helper}', which registry-janitor does not run: set REGISTRY_USERNAME and REGISTRY_PASSWORD instead`,
      };
}

interface DockerConfig {
  readonly auths: Readonly<Record<string, DockerAuthEntry>>;
  readonly credHelpers: Readonly<Record<string, string>>;
  readonly credsStore?: string;
}

function readDockerConfig(path: string, readText: (path: string) => string): DockerConfig | undefined {
  let text: string;
  try {
    text = readText(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new UsageError(`cannot read the registry credentials file ${path}: ${code ?? String(error)}`, {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isRecord(value)) throw new UsageError(`${path} is not a JSON object`);
  const auths = isRecord(value.auths) ? (value.auths as Record<string, DockerAuthEntry>) : {};
  const helpers = isRecord(value.credHelpers) ? value.credHelpers : {};
  const credHelpers: Record<string, string> = {};
  for (const [name, helper] of Object.entries(helpers))
    if (typeof helper === 'string') credHelpers[name] = helper;
  return {
    auths: Object.fromEntries(Object.entries(auths).filter(([, entry]) => isRecord(entry))),
    credHelpers,
    ...(typeof value.credsStore === 'string' ? { credsStore: value.credsStore } : {}),
  };
}

/** The `auths` key for `host`: the exact key first, else one whose URL has that host[:port]. */
function matchingKey(keys: readonly string[], host: string): string | undefined {
  const wanted = host.toLowerCase();
  if (keys.includes(host)) return host;
  return keys.find((key) => hostOfKey(key) === wanted);
}

/** `https://host:5000/v1/` → `host:5000`; `host:5000` → `host:5000`. */
function hostOfKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return (withoutScheme.split('/')[0] ?? '').toLowerCase();
}

function fromEntry(entry: DockerAuthEntry, source: string): RegistryCredentials | undefined {
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { kind: 'identity-token', identityToken: entry.identitytoken, source };
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new UsageError(`${source}: "auth" is not base64 of user:password`);
    return {
      kind: 'password',
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      source,
    };
  }
  if (typeof entry.username === 'string' && entry.username !== '' && typeof entry.password === 'string') {
    return { kind: 'password', username: entry.username, password: entry.password, source };
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
