/**
 * How the reporter reaches the Kubernetes API: a kubeconfig (`KUBECONFIG`, else `~/.kube/config`),
 * read by @kubernetes/client-node's `KubeConfig` with every auth plugin it knows; otherwise the
 * pod's service account. This is `KubeConfig.loadFromDefault()`'s order. The in-cluster path is
 * written here, without the client, so that the reporter bundle stays small enough for a
 * ConfigMap; the client is imported only when a kubeconfig is used.
 */

import { existsSync, readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { messageOf } from '../../lambdas/core/errors';
import { ReporterConfigError } from './errors';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A Kubernetes API server and the options (TLS, agent, `Authorization`) of a request to it. */
export interface KubeConnection {
  readonly server: URL;
  /** Where the settings came from, for the log. */
  readonly source: string;
  /** Fresh options for each request: a rotated service-account token is read again. */
  requestOptions(): Promise<KubeRequestOptions>;
}

/** TLS options, agent and headers of one request (`headers` as an object, never a raw array). */
export type KubeRequestOptions = Omit<RequestOptions, 'headers'> & { headers?: OutgoingHttpHeaders };

export interface KubeLocation {
  readonly env: NodeJS.ProcessEnv;
  /** @default os.homedir() */
  readonly home?: string;
  /** @default SERVICE_ACCOUNT_DIR */
  readonly serviceAccountDir?: string;
}

/**
 * The client's module name is held in a variable: bundlers leave such an `import()` alone, so neither
 * `dist/cli.js` nor the reporter bundle carries the client's 15 MB (it slowed every `gc` start by
 * 150 ms); Node loads it from node_modules when a kubeconfig is used.
 */
const KUBE_CLIENT_MODULE = '@kubernetes/client-node';
type KubeClient = typeof import('@kubernetes/client-node');

/** The connection `KubeConfig.loadFromDefault()` would choose; `ReporterConfigError` when there is none. */
export async function connectToKubernetes(location: KubeLocation): Promise<KubeConnection> {
  const files = kubeconfigFiles(location.env, location.home ?? homedir());
  if (files.length > 0) return kubeconfigConnection(files);
  const dir = location.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (location.env.KUBERNETES_SERVICE_HOST && existsSync(join(dir, 'token'))) {
    return inClusterConnection(location.env, dir);
  }
  throw new ReporterConfigError(
    'no Kubernetes configuration: set KUBECONFIG, or run the reporter in a pod with a service account token',
  );
}

function kubeconfigFiles(env: NodeJS.ProcessEnv, home: string): string[] {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  if (listed.length > 0) return listed;
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? [fallback] : [];
}

/** The pod's service account: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, its CA and token. */
export function inClusterConnection(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  let ca: Buffer;
  try {
    ca = readFileSync(join(dir, 'ca.crt'));
  } catch (error) {
    throw new ReporterConfigError(`cannot read the service account's CA certificate: ${messageOf(error)}`);
  }
  const tokenFile = join(dir, 'token');
  return {
    server: new URL(`https://${isIPv6(host) ? `[${host}]` : host}:${port}`),
    source: 'in-cluster service account',
    requestOptions: async () => ({
      ca,
      headers: { Authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` },
    }),
  };
}

/** A kubeconfig read by @kubernetes/client-node, merged as `loadFromDefault()` merges `KUBECONFIG`. */
async function kubeconfigConnection(files: readonly string[]): Promise<KubeConnection> {
  const client = await (import(KUBE_CLIENT_MODULE) as Promise<KubeClient>).catch((error: unknown) => {
    throw new ReporterConfigError(
      `reading a kubeconfig (${files.join(', ')}) needs @kubernetes/client-node, which the reporter bundle leaves out: ` +
        'run `npx registry-janitor report` from the npm package, or run the bundle in a pod (service account)',
      { cause: error },
    );
  });
  const config = new client.KubeConfig();
  for (const [index, file] of files.entries()) {
    try {
      const part = index === 0 ? config : new client.KubeConfig();
      part.loadFromFile(file);
      if (part !== config) config.mergeConfig(part);
    } catch (error) {
      throw new ReporterConfigError(`cannot read the kubeconfig ${file}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
  const cluster = config.getCurrentCluster();
  if (cluster === null)
    throw new ReporterConfigError(`the kubeconfig (${files.join(', ')}) names no current cluster`);
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new ReporterConfigError(
      `the kubeconfig's server ${cluster.server} is plain HTTP: set insecure-skip-tls-verify: true for it, or use https`,
    );
  }
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new ReporterConfigError(
      `the kubeconfig (${files.join(', ')}) names server '${cluster.server}' for its current cluster, which is not a URL`,
    );
  }
  return {
    server,
    source: `kubeconfig context '${config.getCurrentContext()}'`,
    requestOptions: async () => {
      const options: RequestOptions = {};
      await config.applyToHTTPSOptions(options);
      return options as KubeRequestOptions;
    },
  };
}
