import { SightingsError } from '../../lambdas/core/errors';
import { parseClusterReport, reportsOfBodies, sightingsFromReport } from '../../lambdas/core/report';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'b'.repeat(64)}`;
const body = (images: object[]) => ({ cluster: 'prod-eu', observedAt: '2026-11-22T18:00:00Z', images });

describe('parseClusterReport', () => {
  it.each([
    [{ observedAt: '2026-11-22T18:00:00Z', images: [] }, 'cluster'],
    [{ cluster: '', observedAt: '2026-11-22T18:00:00Z', images: [] }, 'cluster'],
    [{ cluster: 'prod eu', observedAt: '2026-11-22T18:00:00Z', images: [] }, 'cluster'],
    [{ cluster: 'aws:ecs', observedAt: '2026-11-22T18:00:00Z', images: [] }, 'cluster'],
    [{ cluster: 'prod', observedAt: 'yesterday', images: [] }, 'observedAt'],
    [{ cluster: 'prod', observedAt: '2026-11-22T18:00:00Z' }, 'images'],
    [{ cluster: 'prod', observedAt: '2026-11-22T18:00:00Z', images: [{ namespace: 'x' }] }, 'images.0.image'],
    ['a string', 'body'],
  ])('rejects %j naming the bad field', (value, field) => {
    expect(() => parseClusterReport(value)).toThrow(SightingsError);
    expect(() => parseClusterReport(value)).toThrow(new RegExp(`^${field.replace('.', '\\.')}`));
  });

  it.each([
    [{ ...body([]), extra: 1 }, 'body: Unrecognized key: "extra"'],
    // A misspelt imageID: read without it, the digest the pod runs would lose its protection.
    [body([{ image: 'web:1', imageId: `web@${DIGEST}` }]), 'images.0: Unrecognized key: "imageId"'],
  ])('rejects an unknown key, naming it: %j', (value, message) => {
    expect(() => parseClusterReport(value)).toThrow(new SightingsError(message));
  });
});

describe('sightingsFromReport', () => {
  it('ignores an entry too long to be a reference, with its reason, and keeps every other entry', () => {
    const long = `web:${'x'.repeat(5000)}`;
    const { sightings, ignored, unusable } = sightingsFromReport(
      parseClusterReport(body([{ image: long }, { image: `${ECR}/web:1`, imageID: `${ECR}/web@${DIGEST}` }])),
    );
    expect(unusable).toBe(1);
    expect(ignored).toEqual([
      {
        image: `${long.slice(0, 200)}…`,
        reason: 'image is 5004 characters long; a reference has at most 4096',
      },
    ]);
    expect(sightings.map((sighting) => sighting.ref)).toEqual([
      { registry: ECR, repository: 'web', tag: '1', digest: DIGEST },
    ]);
  });

  it('keeps the sighting of an entry whose namespace or workload is too long, without them', () => {
    const entry = { image: `${ECR}/web:1`, namespace: 'n'.repeat(254), workload: 'Deployment/web' };
    const { sightings, ignored, unusable } = sightingsFromReport(parseClusterReport(body([entry])));
    expect(unusable).toBe(0);
    expect(sightings).toEqual([expect.objectContaining({ workload: 'Deployment/web' })]);
    expect(sightings[0]).not.toHaveProperty('namespace');
    expect(ignored).toEqual([
      { image: entry.image, reason: 'namespace longer than 253 characters (left out)' },
    ]);
  });

  it('gives one sighting with the tag of image and the digest of imageID', () => {
    // Act
    const { sightings, ignored } = sightingsFromReport(
      parseClusterReport(
        body([
          {
            image: `${ECR}/web:1.4.2`,
            imageID: `docker-pullable://${ECR}/web@${DIGEST}`,
            namespace: 'shop',
            workload: 'Deployment/web',
          },
        ]),
      ),
    );

    // Assess
    expect(ignored).toEqual([]);
    expect(sightings.map((sighting) => sighting.ref)).toEqual([
      { registry: ECR, repository: 'web', tag: '1.4.2', digest: DIGEST },
    ]);
    expect(sightings[0]).toMatchObject({ cluster: 'prod-eu', namespace: 'shop', workload: 'Deployment/web' });
    expect(sightings[0]?.observedAt.toISOString()).toBe('2026-11-22T18:00:00.000Z');
  });

  it('reads a bare sha256 imageID as the digest of the named image', () => {
    const { sightings } = sightingsFromReport(
      parseClusterReport(body([{ image: `${ECR}/web:1`, imageID: DIGEST }])),
    );
    expect(sightings.map((sighting) => sighting.ref)).toEqual([
      { registry: ECR, repository: 'web', tag: '1', digest: DIGEST },
    ]);
  });

  it('keeps two sightings when imageID names another repository than image', () => {
    const { sightings } = sightingsFromReport(
      parseClusterReport(
        body([{ image: 'mirror.local/web:1', imageID: `docker-pullable://${ECR}/web@${DIGEST}` }]),
      ),
    );
    expect(sightings.map((sighting) => sighting.ref)).toEqual([
      { registry: 'mirror.local', repository: 'web', tag: '1' },
      { registry: ECR, repository: 'web', digest: DIGEST },
    ]);
  });

  it('ignores an entry it cannot parse, with the reason, and keeps the others', () => {
    const { sightings, ignored } = sightingsFromReport(
      parseClusterReport(body([{ image: 'Bad Ref' }, { image: 'nginx' }])),
    );
    expect(ignored).toEqual([{ image: 'Bad Ref', reason: "image reference 'Bad Ref' contains whitespace" }]);
    expect(sightings.map((sighting) => sighting.ref)).toEqual([
      { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
    ]);
  });

  it('keeps the usable half of an entry whose imageID is malformed, and says so', () => {
    const { sightings, ignored } = sightingsFromReport(
      parseClusterReport(body([{ image: `${ECR}/web:1`, imageID: 'sha256:zz' }])),
    );
    expect(ignored).toEqual([
      {
        image: `${ECR}/web:1`,
        reason: `'sha256:zz' is not a valid digest (expected sha256:<64 hex>) (recorded: ${ECR}/web:1)`,
      },
    ]);
    expect(sightings.map((sighting) => sighting.ref)).toEqual([
      { registry: ECR, repository: 'web', tag: '1' },
    ]);
  });
});

describe('reportsOfBodies', () => {
  const at = (hour: number) => new Date(Date.UTC(2026, 10, 22, hour));
  const body = (cluster: string, hour: number, round?: { part: number; parts: number }) => ({
    cluster,
    observedAt: at(hour),
    ...(round ? { round } : {}),
  });

  it.each([
    ['a body without round is a whole report', [body('a', 1)], [{ cluster: 'a', lastReportAt: at(1) }]],
    [
      'every part of a report makes it whole, in any order',
      [body('a', 2, { part: 2, parts: 2 }), body('a', 2, { part: 1, parts: 2 })],
      [{ cluster: 'a', lastReportAt: at(2) }],
    ],
    [
      'a missing part leaves the last whole report',
      [body('a', 1), body('a', 2, { part: 1, parts: 2 })],
      [{ cluster: 'a', lastReportAt: at(1) }],
    ],
    [
      'only parts: incomplete, dated by the newest part',
      [body('a', 2, { part: 1, parts: 3 }), body('a', 3, { part: 2, parts: 3 })],
      [{ cluster: 'a', lastReportAt: at(3), incomplete: true }],
    ],
    [
      'parts of different reports do not add up',
      [body('a', 2, { part: 1, parts: 2 }), body('a', 3, { part: 2, parts: 2 })],
      [{ cluster: 'a', lastReportAt: at(3), incomplete: true }],
    ],
    [
      'a part sent twice counts once',
      [body('a', 2, { part: 1, parts: 2 }), body('a', 2, { part: 1, parts: 2 })],
      [{ cluster: 'a', lastReportAt: at(2), incomplete: true }],
    ],
    [
      'clusters apart',
      [body('a', 1), body('b', 2, { part: 1, parts: 1 })],
      [
        { cluster: 'a', lastReportAt: at(1) },
        { cluster: 'b', lastReportAt: at(2) },
      ],
    ],
  ])('%s', (_, bodies, expected) => {
    expect(reportsOfBodies(bodies)).toEqual(expected);
  });
});
