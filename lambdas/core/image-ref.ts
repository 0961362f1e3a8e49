import { ImageReferenceError } from './errors';
import type { ImageRef } from './model';

const DOCKER_HUB = 'docker.io';
const RUNTIME_PREFIXES = ['docker-pullable://', 'docker://', 'containerd://', 'cri-o://'];
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const MAX_NAME_LENGTH = 255;

/**
 * Longest text read as a reference (an ingest entry's `image` or `imageID`): a longer one is
 * recorded as unreadable, whatever it holds.
 */
export const MAX_REFERENCE = 4096;

/** True when `name` is a repository path (`team/web`): lowercase components joined by `/`. */
export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && name.split('/').every((component) => COMPONENT.test(component));
}

/** True when `value` is a canonical `sha256:<64 hex>` (or `sha512:<128 hex>`) digest. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/**
 * Parses an image reference as Kubernetes reports it and normalises it: runtime prefixes
 * (`docker-pullable://`, `docker://`) are dropped, Docker Hub names get `docker.io` and
 * `library/`, a reference with neither tag nor digest means `:latest`, and `name:tag@digest`
 * keeps both. A bare `sha256:<hex>` id gives a reference with an empty registry and repository.
 * Anything else that does not follow the reference grammar is rejected with its reason.
 *
 * @example
 * parseImageReference('docker-pullable://nginx@sha256:ab…')
 * // { registry: 'docker.io', repository: 'library/nginx', digest: 'sha256:ab…' }
 */
export function parseImageReference(input: string): ImageRef {
  let text = input.trim();
  if (text === '') throw new ImageReferenceError('image reference is empty');
  for (const prefix of RUNTIME_PREFIXES) {
    if (text.startsWith(prefix)) text = text.slice(prefix.length);
  }
  if (/\s/.test(text)) throw new ImageReferenceError(`image reference '${input}' contains whitespace`);
  if (/^[a-z0-9]+:/.test(text) && isBareDigestLike(text)) {
    if (!isDigest(text))
      throw new ImageReferenceError(`'${input}' is not a valid digest (expected sha256:<64 hex>)`);
    return { registry: '', repository: '', digest: text };
  }
  const [namePart, digest] = splitDigest(text, input);
  const [name, tag] = splitTag(namePart, input);
  const { registry, repository } = splitRegistry(name, input);
  if (digest === undefined && tag === undefined) return { registry, repository, tag: 'latest' };
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The canonical text of a reference: `registry/repository[:tag][@digest]`. */
export function formatImageReference(ref: ImageRef): string {
  if (ref.repository === '') return ref.digest ?? '';
  const tag = ref.tag === undefined ? '' : `:${ref.tag}`;
  const digest = ref.digest === undefined ? '' : `@${ref.digest}`;
  return `${ref.registry}/${ref.repository}${tag}${digest}`;
}

function isBareDigestLike(text: string): boolean {
  return !text.includes('/') && !text.includes('@') && /^(sha256|sha512):/.test(text);
}

function splitDigest(text: string, input: string): [string, string | undefined] {
  const at = text.indexOf('@');
  if (at < 0) return [text, undefined];
  const digest = text.slice(at + 1);
  if (!isDigest(digest)) {
    throw new ImageReferenceError(
      `'${input}' has an invalid digest '${digest}' (expected sha256:<64 lowercase hex>)`,
    );
  }
  return [text.slice(0, at), digest];
}

function splitTag(text: string, input: string): [string, string | undefined] {
  const colon = text.lastIndexOf(':');
  if (colon < 0 || colon < text.lastIndexOf('/')) return [text, undefined];
  const tag = text.slice(colon + 1);
  if (!TAG.test(tag)) throw new ImageReferenceError(`'${input}' has an invalid tag '${tag}'`);
  return [text.slice(0, colon), tag];
}

/** Docker Hub's other names, each with the port HTTPS implies: one registry, `docker.io`. */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set([
  'index.docker.io',
  'registry-1.docker.io',
  'docker.io:443',
  'index.docker.io:443',
  'registry-1.docker.io:443',
]);

/**
 * The one name references use for a registry host (lowercase): Docker Hub's aliases are
 * `docker.io`. Sightings are read with it, so the registry being cleaned must name itself with
 * it too: a `gc --registry https://registry-1.docker.io` is the registry of `docker.io/...` images.
 */
export function canonicalRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

function splitRegistry(name: string, input: string): { registry: string; repository: string } {
  if (name === '') throw new ImageReferenceError(`'${input}' has no repository name`);
  if (name.length > MAX_NAME_LENGTH) {
    throw new ImageReferenceError(`'${input}' is longer than ${MAX_NAME_LENGTH} characters`);
  }
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = hasHost ? first.toLowerCase() : DOCKER_HUB;
  let repository = hasHost ? name.slice(slash + 1) : name;
  if (hasHost && !HOST.test(first))
    throw new ImageReferenceError(`'${input}' has an invalid registry host '${first}'`);
  registry = canonicalRegistryHost(registry);
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  for (const component of repository.split('/')) {
    if (!COMPONENT.test(component)) {
      throw new ImageReferenceError(
        `'${input}' has an invalid repository component '${component}' (lowercase letters, digits and . _ - separators only)`,
      );
    }
  }
  return { registry, repository };
}
