/**
 * Registries that are certainly not the one being cleaned when they are not among its own host
 * names: public registries, and any other ECR registry (another account or region).
 */
const PUBLIC_REGISTRIES: ReadonlySet<string> = new Set([
  'docker.io',
  'ghcr.io',
  'quay.io',
  'gcr.io',
  'public.ecr.aws',
  'registry.k8s.io',
  'k8s.gcr.io',
  'mcr.microsoft.com',
  'nvcr.io',
  'registry.gitlab.com',
  'cgr.dev',
]);

const ECR_HOST =
  /^(\d{12})\.dkr[.-]ecr(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws)(?::\d+)?$/;
const GOOGLE_HOST = /(^|\.)(gcr\.io|pkg\.dev)(:\d+)?$/;

/**
 * True when a tag sighting from `host` may be of the registry known as `ownHosts`: one of its
 * names, or a name it could also be reached by (an internal DNS name, a port written out, a
 * mirror). Only hosts that are certainly another registry are ruled out: when unsure, the
 * sighting protects.
 *
 * @example
 * mayBeOwnHost('registry.internal:5000', new Set(['127.0.0.1:5000'])) // true
 * mayBeOwnHost('docker.io', new Set(['127.0.0.1:5000']))              // false
 */
export function mayBeOwnHost(host: string, ownHosts: ReadonlySet<string> | undefined): boolean {
  if (!ownHosts || ownHosts.has(host)) return true;
  const withoutDefaultPort = host.replace(/:(443|80)$/, '');
  if (ownHosts.has(withoutDefaultPort)) return true;
  if (PUBLIC_REGISTRIES.has(withoutDefaultPort) || GOOGLE_HOST.test(host)) return false;
  const ecr = ecrIdentity(host);
  if (ecr === undefined) return true;
  // Any spelling (FIPS, dual-stack, a port) of the same account and region is the same registry.
  return [...ownHosts].some((own) => ecrIdentity(own) === ecr);
}

/** `account/region` of an ECR registry host, whatever its spelling; undefined for other hosts. */
function ecrIdentity(host: string): string | undefined {
  const match = ECR_HOST.exec(host);
  return match ? `${match[1]}/${match[2]}` : undefined;
}
