import fc from 'fast-check';
import { clusterReportSchema } from '../../lambdas/core/report';
import {
  formatObservedAt,
  MAX_BODY_BYTES,
  readableEntries,
  splitIntoBodies,
} from '../../reporter/src/bodies';
import { EntrySet, type ImageEntry } from '../../reporter/src/image-entries';

const OBSERVED_AT = new Date('2026-11-22T18:00:00.456Z');
const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const hex = (n: number) => n.toString(16).padStart(64, '0');

const entry = (i: number): ImageEntry => ({
  image: `${HOST}/team-${i % 50}/service-with-a-rather-long-name-${i}:build-${i}`,
  imageID: `${HOST}/team-${i % 50}/service-with-a-rather-long-name-${i}@sha256:${hex(i)}`,
  namespace: `namespace-${i % 200}`,
  workload: `Deployment/service-with-a-rather-long-name-${i}`,
});

const parse = (body: string) => clusterReportSchema.parse(JSON.parse(body));

describe('ingest bodies', () => {
  it('are the contract shape: cluster, observedAt in UTC without milliseconds, images in order', () => {
    const entries = [entry(1), { image: 'alpine:3.20', namespace: 'default', workload: 'Pod/debug' }];

    const bodies = splitIntoBodies(entries, { cluster: 'prod-eu', observedAt: OBSERVED_AT });

    expect(bodies).toHaveLength(1);
    expect(JSON.parse(bodies[0]!)).toEqual({
      cluster: 'prod-eu',
      observedAt: '2026-11-22T18:00:00Z',
      images: entries,
    });
    expect(parse(bodies[0]!).images).toEqual(entries);
    expect(Object.keys(JSON.parse(bodies[0]!).images[0])).toEqual([
      'image',
      'imageID',
      'namespace',
      'workload',
    ]);
  });

  it('are one body with no images for an empty cluster (its heartbeat)', () => {
    const bodies = splitIntoBodies([], { cluster: 'idle', observedAt: OBSERVED_AT });
    expect(bodies.map((body) => JSON.parse(body))).toEqual([
      { cluster: 'idle', observedAt: '2026-11-22T18:00:00Z', images: [] },
    ]);
  });

  it('are split at 1 MiB for a large cluster, every entry in exactly one body, one observedAt', () => {
    const entries = Array.from({ length: 12_000 }, (_, i) => entry(i));

    const bodies = splitIntoBodies(entries, { cluster: 'prod-eu', observedAt: OBSERVED_AT });

    expect(bodies.length).toBeGreaterThanOrEqual(3);
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(Buffer.byteLength(bodies[0]!)).toBeGreaterThan(MAX_BODY_BYTES - 1000);
    const parsed = bodies.map(parse);
    expect(new Set(parsed.map((body) => body.observedAt))).toEqual(new Set(['2026-11-22T18:00:00Z']));
    expect(parsed.flatMap((body) => body.images)).toEqual(entries);
    // Each says which part of the report it is: the ingest moves the heartbeat once all arrived.
    expect(parsed.map((body) => body.round)).toEqual(
      bodies.map((_, index) => ({ part: index + 1, parts: bodies.length })),
    );
  });

  it('never split an entry and count UTF-8 bytes, not characters (property)', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });
    const anEntry = fc.record({ image: text, namespace: text, workload: text }).map((e) => e as ImageEntry);
    fc.assert(
      fc.property(
        fc.array(anEntry, { maxLength: 60 }),
        fc.integer({ min: 600, max: 3000 }),
        (entries, maxBytes) => {
          const bodies = splitIntoBodies(entries, { cluster: 'c', observedAt: OBSERVED_AT, maxBytes });
          for (const body of bodies) expect(Buffer.byteLength(body, 'utf8')).toBeLessThanOrEqual(maxBytes);
          expect(bodies.flatMap((body) => JSON.parse(body).images)).toEqual(entries);
          const rounds = bodies.map((body) => parse(body).round);
          expect(rounds).toEqual(
            bodies.length === 1 ? [undefined] : bodies.map((_, i) => ({ part: i + 1, parts: bodies.length })),
          );
        },
      ),
    );
  });

  it('refuse an entry that cannot fit a body on its own', () => {
    const huge = { image: 'x'.repeat(2000), namespace: 'n', workload: 'Pod/p' };
    expect(() => splitIntoBodies([huge], { cluster: 'c', observedAt: OBSERVED_AT, maxBytes: 1000 })).toThrow(
      /alone exceeds 1000 bytes/,
    );
  });

  it.each([
    ['keeps an image of 4,096 characters as it is', 4096, true, 'as is'],
    ['sends the imageID in place of a longer image', 4097, true, 'imageID'],
    ['leaves out a longer image without an imageID', 2_000_000, false, 'left out'],
  ])('%s', (_name, length, withId, outcome) => {
    // Prepare: anyone who may create a pod can write an image of any length.
    const long = { image: `a${'\u0001'.repeat(length - 1)}`, namespace: 'team', workload: 'Pod/odd' };
    const id = `${HOST}/web@sha256:${hex(7)}`;
    const odd = withId ? { ...long, imageID: id } : long;

    // Act
    const { entries, problems } = readableEntries([entry(1), odd, entry(2)]);
    const bodies = splitIntoBodies(entries, { cluster: 'prod-eu', observedAt: OBSERVED_AT });

    // Assess
    const sent = bodies.flatMap((body) => parse(body).images);
    if (outcome === 'as is') {
      expect(sent).toEqual([entry(1), odd, entry(2)]);
      expect(problems).toEqual([]);
      return;
    }
    expect(sent).toEqual(
      outcome === 'imageID' ? [entry(1), { ...odd, image: id }, entry(2)] : [entry(1), entry(2)],
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`is ${length} characters long`);
    expect(problems[0]).toContain(outcome === 'imageID' ? 'sent as its imageID' : 'left out');
    // Named shortened, control characters escaped: the log line stays one short line.
    expect(problems[0]!.length).toBeLessThan(1000);
    expect(problems[0]).not.toContain('\u0001');
  });

  it.each([
    ['a workload', { workload: `Pod/${'w'.repeat(1_100_000)}` }, 'workload', 512],
    ['a namespace', { namespace: 'n'.repeat(300) }, 'namespace', 253],
  ])('cut %s longer than the ingest keeps, and still send the sighting', (_name, long, field, limit) => {
    // Prepare: Kubernetes does not limit an ownerReference's name; one pod can name a 1 MB owner.
    const odd = { ...entry(3), ...long };

    // Act
    const { entries, problems } = readableEntries([entry(1), odd, entry(2)]);
    const bodies = splitIntoBodies(entries, { cluster: 'prod-eu', observedAt: OBSERVED_AT });

    // Assess: one body, the odd entry's image and imageID as they are, its context cut.
    expect(bodies).toHaveLength(1);
    const sent = parse(bodies[0]!).images;
    expect(sent).toHaveLength(3);
    expect(sent[1]).toMatchObject({ image: odd.image, imageID: odd.imageID });
    const text = (sent[1] as Record<string, string>)[field]!;
    expect(text).toHaveLength(limit);
    expect(text.endsWith('…')).toBe(true);
    expect(problems).toEqual([expect.stringContaining(`${field} `)]);
    expect(problems[0]).toContain(`sent cut to ${limit}`);
    expect(problems[0]!.length).toBeLessThan(1000);
  });

  it('leave out an imageID longer than any reference, and keep the image', () => {
    const odd = { ...entry(3), imageID: `web@sha256:${'f'.repeat(2_000_000)}` };

    const { entries, problems } = readableEntries([odd]);

    expect(entries).toEqual([{ image: odd.image, namespace: odd.namespace, workload: odd.workload }]);
    expect(problems).toEqual([expect.stringContaining('imageID')]);
    expect(problems[0]).toContain('left out');
  });

  it('make every entry fit a body, whatever its texts', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer({ min: 0, max: 1_200_000 }).map((n) => 'x'.repeat(n)),
    );
    const anEntry = fc.record(
      { image: text, imageID: text, namespace: text, workload: text },
      { requiredKeys: ['image', 'namespace', 'workload'] },
    );
    fc.assert(
      fc.property(anEntry, (listed) => {
        const { entries, problems } = readableEntries([listed]);
        const bodies = splitIntoBodies(entries, { cluster: 'c', observedAt: OBSERVED_AT });
        // Sent within a body's limit, or left out with a word; never dropped in silence.
        const leftOut = problems.filter(
          (problem) => problem.includes(': image ') && problem.endsWith('; left out'),
        );
        expect(entries.length + leftOut.length).toBe(1);
        expect(bodies.every((body) => Buffer.byteLength(body) <= MAX_BODY_BYTES)).toBe(true);
        const sent = bodies.flatMap((body) => (JSON.parse(body) as { images: unknown[] }).images);
        expect(sent).toHaveLength(entries.length);
      }),
      { numRuns: 60 },
    );
  });

  it('format observedAt as the contract example does', () => {
    expect(formatObservedAt(new Date('2026-11-22T18:00:00Z'))).toBe('2026-11-22T18:00:00Z');
    expect(formatObservedAt(OBSERVED_AT)).toBe('2026-11-22T18:00:00Z');
  });
});

describe('image entries of a report', () => {
  it('are deduplicated and sorted by namespace, workload and image', () => {
    const set = new EntrySet();
    const web = { image: 'web:1', imageID: 'web@sha256:aa', namespace: 'shop', workload: 'Deployment/web' };
    const db = { image: 'pg:16', namespace: 'data', workload: 'StatefulSet/db' };
    for (const item of [web, db, web, db]) set.add(item);

    expect(set.entries()).toEqual([db, web]);
  });

  it('drop a tag-only entry when the same image, namespace and workload has an imageID', () => {
    const set = new EntrySet();
    set.add({ image: 'web:1', namespace: 'shop', workload: 'Deployment/web' });
    set.add({
      image: 'web:1',
      imageID: 'docker-pullable://web@sha256:aa',
      namespace: 'shop',
      workload: 'Deployment/web',
    });
    set.add({ image: 'web:1', imageID: 'web@sha256:aa', namespace: 'shop', workload: 'Deployment/web' });
    set.add({ image: 'web:1', namespace: 'other', workload: 'Deployment/web' });

    expect(set.entries()).toEqual([
      { image: 'web:1', namespace: 'other', workload: 'Deployment/web' },
      {
        image: 'web:1',
        imageID: 'docker-pullable://web@sha256:aa',
        namespace: 'shop',
        workload: 'Deployment/web',
      },
      { image: 'web:1', imageID: 'web@sha256:aa', namespace: 'shop', workload: 'Deployment/web' },
    ]);
  });
});
