import { parseCreated } from '../../lambdas/adapters/oci-manifest';
import { datePushes, type ListedManifest } from '../../lambdas/adapters/oci-push-time';
import { digestOf } from '../fixtures/builders';

describe('parseCreated', () => {
  it.each([
    ['2023-05-04T12:34:56Z', '2023-05-04T12:34:56.000Z'],
    ['2023-05-04T12:34:56.123456789Z', '2023-05-04T12:34:56.123Z'],
    ['2023-05-04T12:34:56+02:00', '2023-05-04T10:34:56.000Z'],
    ['2023-05-04T12:34:56-05:30', '2023-05-04T18:04:56.000Z'],
    ['2023-05-04 12:34:56Z', '2023-05-04T12:34:56.000Z'],
    ['2023-05-04t12:34:56z', '2023-05-04T12:34:56.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999Z'],
  ])('reads the RFC 3339 date-time %s as %s', (text, expected) => {
    expect(parseCreated(text)?.toISOString()).toBe(expected);
  });

  it.each([
    // Date.parse reads each of these as a date after 2000.
    ['1.2.3'],
    ['3.12'],
    ['build 7'],
    ['main-7'],
    ['not-a-date-3'],
    ['unknown 1'],
    ['2024-02-30T00:00:00Z'],
    ['2023-02-29T00:00:00Z'],
    ['2023-13-01T00:00:00Z'],
    ['2023-05-04T24:00:00Z'],
    ['2023-05-04T12:60:00Z'],
    ['2023-05-04T12:34:56+24:00'],
    // No zone: the machine's own would decide.
    ['2023-05-04T12:34:56'],
    ['2023-05-04 12:34:56'],
    ['2023-05-04'],
    ['Thu, 04 May 2023 12:34:56 GMT'],
    ['1683203696'],
    [''],
    // A fixed reproducible-build time says nothing of the push.
    ['1970-01-01T00:00:00Z'],
    ['0001-01-01T00:00:00Z'],
  ])('reads %j as no time at all', (text) => {
    expect(parseCreated(text)).toBeUndefined();
  });

  it.each([[undefined], [null], [1683203696000], [{}]])('reads %j as no time at all', (value) => {
    expect(parseCreated(value)).toBeUndefined();
  });
});

describe('datePushes', () => {
  const NOW_MS = Date.parse('2026-03-01T00:00:00Z');
  /** An image manifest of `seed`; its config's time is what `configTimes` answers. */
  const image = (seed: string, annotation?: string): ListedManifest => ({
    digest: digestOf(seed),
    content: {
      kind: 'image',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      imageConfig: { digest: digestOf(`config-${seed}`) },
      sizeBytes: 10,
      annotations: annotation === undefined ? {} : { 'org.opencontainers.image.created': annotation },
    },
  });
  const configTimes = (manifests: readonly { seed: string; created: string | undefined }[]) => {
    const times = new Map(manifests.map(({ seed, created }) => [digestOf(`config-${seed}`), created]));
    return async (configDigest: string) => parseCreated(times.get(configDigest));
  };

  it('does not believe a time after the latest credible one: the image counts as of unknown time', async () => {
    // Prepare
    const future = image('future');
    const futureAnnotated = image('annotated', '2099-01-01T00:00:00Z');
    const current = image('current');
    const entries = new Map([future, futureAnnotated, current].map((entry) => [entry.digest, entry]));
    const read = configTimes([
      { seed: 'future', created: '2099-01-01T00:00:00Z' },
      { seed: 'annotated', created: undefined },
      { seed: 'current', created: '2026-02-27T00:00:00Z' },
    ]);

    // Act
    const dated = await datePushes(entries, read, NOW_MS + 300_000);

    // Assess
    expect(dated.get(future.digest)).toMatchObject({ source: 'unknown', pushedAt: new Date(0) });
    expect(dated.get(futureAnnotated.digest)).toMatchObject({ source: 'unknown', pushedAt: new Date(0) });
    expect(dated.get(current.digest)).toMatchObject({
      source: 'config-created',
      pushedAt: new Date('2026-02-27T00:00:00Z'),
    });
  });

  it('dates an index by its newest platform image when its annotation is not a time or lies ahead', async () => {
    // Prepare
    const children = [image('amd64'), image('arm64')];
    const index = (seed: string, annotation: string): ListedManifest => ({
      digest: digestOf(seed),
      content: {
        kind: 'index',
        mediaType: 'application/vnd.oci.image.index.v1+json',
        children: children.map((child) => ({ digest: child.digest })),
        annotations: { 'org.opencontainers.image.created': annotation },
      },
    });
    const versioned = index('versioned', '1.2.3');
    const ahead = index('ahead', '2099-01-01T00:00:00Z');
    const entries = new Map([...children, versioned, ahead].map((entry) => [entry.digest, entry]));
    const read = configTimes([
      { seed: 'amd64', created: '2026-02-20T00:00:00Z' },
      { seed: 'arm64', created: '2026-02-28T00:00:00Z' },
    ]);

    // Act
    const dated = await datePushes(entries, read, NOW_MS + 300_000);

    // Assess
    for (const digest of [versioned.digest, ahead.digest]) {
      expect(dated.get(digest)).toMatchObject({
        source: 'newest-child',
        pushedAt: new Date('2026-02-28T00:00:00Z'),
      });
    }
  });
});
