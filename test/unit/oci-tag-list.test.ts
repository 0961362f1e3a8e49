import { createHash } from 'node:crypto';
import { RegistryReadError } from '../../lambdas/adapters/errors';
import { OciRegistry } from '../../lambdas/adapters/oci-registry';

/**
 * The tag list's pages as the registry answers them, against a registry that holds one image
 * under every tag: a malformed page must fail the listing, never shorten it.
 */
const config = JSON.stringify({ created: '2026-01-01T00:00:00Z' });
const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: configDigest,
    size: config.length,
  },
  layers: [],
});
const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;

/**
 * A registry holding one image under every tag (its tag list: `latest`); `answers` may answer any
 * path first (tag list pages, a sighted digest, the referrers API). Unknown paths get a plain 404.
 */
function registryWith(answers: (path: string) => Response | undefined): OciRegistry {
  const fetch = (async (input: URL | string) => {
    const url = new URL(String(input));
    const answer = answers(`${url.pathname}${url.search}`);
    if (answer) return answer;
    if (url.pathname === '/v2/web/tags/list') return Response.json({ name: 'web', tags: ['latest'] });
    if (url.pathname.startsWith('/v2/web/manifests/')) {
      return new Response(manifest, {
        status: 200,
        headers: {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': manifestDigest,
        },
      });
    }
    if (url.pathname === `/v2/web/blobs/${configDigest}`) return new Response(config, { status: 200 });
    return new Response('404 page not found', { status: 404 });
  }) as typeof globalThis.fetch;
  return new OciRegistry({ url: new URL('http://registry.test:5000'), fetch, pageSize: 2 });
}

/** A registry whose tag list answers `pages` in turn, each linking to the next. */
function registryAnswering(pages: readonly unknown[]): OciRegistry {
  return registryWith((path) => {
    if (!path.startsWith('/v2/web/tags/list')) return undefined;
    const at = Number(new URL(path, 'http://registry.test').searchParams.get('last') ?? 0);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (at + 1 < pages.length) headers.link = `</v2/web/tags/list?n=2&last=${at + 1}>; rel="next"`;
    return new Response(JSON.stringify(pages[at]), { status: 200, headers });
  });
}

describe('OciRegistry tag list pages', () => {
  it('lists a repository whose only page says "tags": null (its last tag is gone) as empty', async () => {
    await expect(registryAnswering([{ name: 'web', tags: null }]).listImages('web')).resolves.toEqual([]);
  });

  it('reads the tags of every page', async () => {
    const registry = registryAnswering([
      { name: 'web', tags: ['a', 'b'] },
      { name: 'web', tags: ['c'] },
    ]);
    const images = await registry.listImages('web');
    expect(images.map((image) => image.tags)).toEqual([['a', 'b', 'c']]);
  });

  it.each([
    ['a later page without tags', [{ name: 'web', tags: ['a', 'b'] }, {}], /has no tags array/],
    [
      'a later page with "tags": null',
      [{ name: 'web', tags: ['a', 'b'] }, { tags: null }],
      /has no tags array/,
    ],
    ['a first page without tags that links to more', [{}, { name: 'web', tags: ['c'] }], /has no tags array/],
    ['an only page without a tags key', [{ name: 'web' }], /has no tags array/],
    ['an only page that is an empty object (a proxy)', [{}], /has no tags array/],
    ['an only page that is a list', [[]], /has no tags array/],
    ['a tag that is not a string', [{ name: 'web', tags: ['a', 7] }], /an entry that is not a tag: 7/],
    ['an empty tag', [{ name: 'web', tags: [''] }], /an entry that is not a tag: ""/],
  ])('fails the listing on %s', async (_name, pages, message) => {
    const listing = registryAnswering(pages).listImages('web');
    await expect(listing).rejects.toThrow(RegistryReadError);
    await expect(listing).rejects.toThrow(message);
  });
});

describe('OciRegistry reads of what is not tagged', () => {
  const sighted = `sha256:${'5'.repeat(64)}`;
  const answerSighted = (response: () => Response) => (path: string) =>
    path === `/v2/web/manifests/${sighted}` ? response() : undefined;

  it.each([
    ['MANIFEST_UNKNOWN (Distribution, zot)', 'MANIFEST_UNKNOWN'],
    ['NOT_FOUND (Harbor)', 'NOT_FOUND'],
  ])('leaves out a sighted digest the registry says it does not hold: %s', async (_name, code) => {
    const registry = registryWith(
      answerSighted(() => Response.json({ errors: [{ code, message: 'unknown' }] }, { status: 404 })),
    );
    const images = await registry.listImages('web', undefined, [sighted]);
    expect(images.map((image) => image.digest)).toEqual([manifestDigest]);
  });

  it('fails the listing when a sighted digest gets a 404 that is not the registry saying so', async () => {
    // A proxy's page: the digest may well be there, running, sharing what an old index holds.
    const registry = registryWith(answerSighted(() => new Response('404 page not found', { status: 404 })));
    const listing = registry.listImages('web', undefined, [sighted]);
    await expect(listing).rejects.toThrow(RegistryReadError);
    await expect(listing).rejects.toThrow(/answered 404 without saying the manifest is unknown/);
  });

  it.each([
    [
      'a referrers page without a manifests array',
      (path: string) => (path.startsWith('/v2/web/referrers/') ? Response.json({}) : undefined),
      /has no manifests array/,
    ],
    [
      'referrers pages that link back to themselves',
      (path: string) =>
        path.startsWith('/v2/web/referrers/')
          ? Response.json(
              { schemaVersion: 2, manifests: [] },
              { headers: { link: `<${path.split('?')[0]}?page=2>; rel="next"` } },
            )
          : undefined,
      /page in a loop/,
    ],
  ])('fails the listing on %s', async (_name, answers, message) => {
    const listing = registryWith(answers).listImages('web');
    await expect(listing).rejects.toThrow(RegistryReadError);
    await expect(listing).rejects.toThrow(message);
  });
});
