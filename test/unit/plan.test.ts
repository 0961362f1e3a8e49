import { parseImageReference } from '../../lambdas/core/image-ref';
import { parseLifecyclePolicy } from '../../lambdas/core/lifecycle-policy';
import type { RegistryImage, Sighting } from '../../lambdas/core/model';
import { type PlanItem, planCleanup, sightedDigestsOf } from '../../lambdas/core/plan';
import type { Policy } from '../../lambdas/core/policy';
import { parseKeepRule } from '../../lambdas/core/policy';
import { aCosignSignature, anImage, aPolicy, aSighting, aTagSighting, NOW } from '../fixtures/builders';

const ECR_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

/** Plans one repository; every cluster that sent a sighting reported an hour ago (none is stale). */
function plan(images: RegistryImage[], policy: Policy, sightings: Sighting[] = []): Map<string, PlanItem> {
  const clusters = [...new Set(sightings.map((sighting) => sighting.cluster))];
  const result = planCleanup({
    repositories: [{ repository: 'web', images }],
    sightings,
    clusterReports: clusters.map((cluster) => ({
      cluster,
      lastReportAt: new Date(NOW.getTime() - 3_600_000),
    })),
    policy,
    registryHosts: [ECR_HOST],
    now: NOW,
  });
  return new Map(result.repositories[0]!.items.map((item) => [item.digest, item]));
}

const deleteAll = aPolicy({ rules: { deleteUntagged: true, unusedTagged: true } });

describe('planCleanup protections', () => {
  it.each([
    [
      'a digest sighting within unusedDays',
      [(i: RegistryImage) => aSighting(i, 'prod-eu', 2)],
      'kept: seen in prod-eu 2 days ago (shop Deployment/web)',
    ],
    [
      'a tag sighting within unusedDays',
      [() => aTagSighting('web', 'v1', 'prod-us', 1)],
      "kept: tag 'v1' seen in prod-us 1 day ago",
    ],
  ])('keeps an image protected by %s', (_name, makeSightings, reason) => {
    // Prepare
    const image = anImage('a').tagged('v1').build();

    // Act
    const items = plan(
      [image],
      deleteAll,
      makeSightings.map((make) => make(image)),
    );

    // Assess
    expect(items.get(image.digest)).toMatchObject({ decision: 'keep', reason });
  });

  it.each(['https://registry-1.docker.io', 'https://index.docker.io', 'registry-1.docker.io:443'])(
    'keeps a Docker Hub image sighted by tag when the registry cleaned is Docker Hub named %s',
    (name) => {
      // Prepare: sightings of Docker Hub, however written, are read as docker.io.
      const host = name.replace('https://', '');
      const image = anImage('a', 'myorg/web').tagged('stable').build();
      const sighting: Sighting = {
        cluster: 'prod-eu',
        ref: parseImageReference(`${host}/myorg/web:stable`),
        observedAt: new Date(NOW.getTime() - 600_000),
      };

      // Act
      const result = planCleanup({
        repositories: [{ repository: 'myorg/web', images: [image] }],
        sightings: [sighting],
        policy: deleteAll,
        registryHosts: [host],
        now: NOW,
      });

      // Assess
      expect(sighting.ref.registry).toBe('docker.io');
      expect(result.repositories[0]!.items[0]).toMatchObject({
        decision: 'keep',
        reason: "kept: tag 'stable' seen in prod-eu 10 minutes ago",
      });
    },
  );

  it.each([
    [
      'a protected tag',
      aPolicy({ protectTags: ['prod'], rules: { deleteUntagged: true } }),
      [],
      false,
      "kept: tag 'prod' is protected",
    ],
    [
      'a tag sighting',
      aPolicy({ rules: { deleteUntagged: true } }),
      [aTagSighting('web', 'prod', 'prod-eu', 0)],
      false,
      "kept: tag 'prod' seen in prod-eu",
    ],
    ['a pull', aPolicy({ rules: { deleteUntagged: true } }), [], true, 'kept: pulled 2 hours ago'],
    [
      'a digest sighting',
      aPolicy({ rules: { deleteUntagged: true, unusedTagged: true } }),
      [aSighting(anImage('a').build(), 'prod-eu', 0.01)],
      false,
      'seen in prod-eu',
    ],
  ])(
    'keeps a digest listed twice by %s that only its earlier listing shows',
    (_name, policy, sightings, pulled, reason) => {
      // Prepare: the listing shifted while paged; the later listing shows the image untagged, unpulled.
      const listed = anImage('a').tagged('prod').build();
      const earlier = {
        ...listed,
        lastPulledAt: pulled ? new Date(NOW.getTime() - 2 * 3_600_000) : undefined,
      };
      const later = { ...listed, tags: [], lastPulledAt: undefined };

      // Act
      const items = plan([earlier, anImage('b').build(), later], policy, sightings);

      // Assess
      expect(items.get(listed.digest)).toMatchObject({
        decision: 'keep',
        reason: expect.stringContaining(reason),
      });
      expect(items.get(listed.digest)?.tags).toEqual(['prod']);
      expect(items.size).toBe(2);
    },
  );

  it('counts a digest listed twice as one manifest', () => {
    const image = anImage('a').build();
    const result = planCleanup({
      repositories: [{ repository: 'web', images: [image, anImage('b').build(), { ...image }] }],
      sightings: [],
      policy: deleteAll,
      now: NOW,
    });
    expect(result.repositories[0]!.totalImages).toBe(2);
  });

  it('names the AWS workload that uses an image', () => {
    const image = anImage('a').tagged('v1').build();
    const lambda: Sighting = {
      ...aSighting(image, 'aws:lambda', 0),
      workload: 'Lambda function api-handler version 14',
    };
    expect(plan([image], deleteAll, [lambda]).get(image.digest)?.reason).toBe(
      'kept: image of Lambda function api-handler version 14',
    );
  });

  it('deletes an image whose last sighting is older than unusedDays, saying when it was seen', () => {
    const image = anImage('a').tagged('v1').build();
    const items = plan([image], deleteAll, [aSighting(image, 'prod-eu', 12)]);
    expect(items.get(image.digest)).toMatchObject({
      decision: 'delete',
      reason: 'delete: tagged, not seen for 7 days, last seen in prod-eu 12 days ago',
    });
  });

  it('ignores a tag sighting from another registry host', () => {
    const image = anImage('a').tagged('v1').build();
    const other: Sighting = {
      ...aTagSighting('web', 'v1'),
      ref: { registry: 'docker.io', repository: 'web', tag: 'v1' },
    };
    expect(plan([image], deleteAll, [other]).get(image.digest)?.decision).toBe('delete');
  });

  it('keeps an image pulled within unusedDays and ignores the pull time when told to', () => {
    const image = anImage('a').tagged('v1').pulledDaysAgo(3).build();
    expect(plan([image], deleteAll).get(image.digest)).toMatchObject({
      decision: 'keep',
      reason: 'kept: pulled 3 days ago (within 7 days)',
    });
    expect(plan([image], { ...deleteAll, usePullTime: false }).get(image.digest)?.decision).toBe('delete');
  });

  it('keeps an image younger than minAgeDays', () => {
    const image = anImage('a').tagged('v1').pushedDaysAgo(1).build();
    expect(plan([image], { ...deleteAll, minAgeDays: 3 }).get(image.digest)).toMatchObject({
      decision: 'keep',
      reason: 'kept: pushed 1 day ago (minimum age 3 days)',
    });
  });

  it('says created, not pushed, for the build time an OCI registry gives instead of a push time', () => {
    const built = {
      ...anImage('a').tagged('v1').pushedDaysAgo(1).build(),
      pushedAtSource: 'config-created' as const,
    };
    expect(plan([built], { ...deleteAll, minAgeDays: 3 }).get(built.digest)?.reason).toBe(
      'kept: created 1 day ago (minimum age 3 days)',
    );
  });

  it('keeps an image with a tag matching a protected glob', () => {
    const [release, build] = [
      anImage('r').tagged('release-1.2').build(),
      anImage('b').tagged('build-9').build(),
    ];
    const items = plan([release, build], { ...deleteAll, protectTags: ['release-*', 'v[0-9]*'] });
    expect(items.get(release.digest)).toMatchObject({
      decision: 'keep',
      reason: "kept: tag 'release-1.2' is protected",
    });
    expect(items.get(build.digest)?.decision).toBe('delete');
  });

  it('protects what a rule would delete: protections are stronger than any delete rule', () => {
    const images = [3, 2, 1].map((n) =>
      anImage(`b${n}`)
        .tagged(`build-${n}`)
        .pushedDaysAgo(10 - n)
        .build(),
    );
    const keepOne = aPolicy({ rules: { keep: [parseKeepRule('build=1')] } });
    const items = plan(images, keepOne, [aSighting(images[2]!, 'prod-eu', 1)]);
    expect([...items.values()].map((item) => item.decision)).toEqual(['keep', 'delete', 'keep']);
  });
});

describe('planCleanup families', () => {
  const amd64 = anImage('amd64').build();
  const arm64 = anImage('arm64').build();
  const index = anImage('index').tagged('v1').indexOf([amd64, arm64]).pushedDaysAgo(20).build();

  it('deletes the children of a deleted index with it, even without deleteUntagged', () => {
    const items = plan([amd64, arm64, index], aPolicy({ rules: { unusedTagged: true } }));
    expect([...items.values()].map((item) => [item.role, item.decision])).toEqual([
      ['root', 'delete'],
      ['child', 'delete'],
      ['child', 'delete'],
    ]);
    expect(items.get(amd64.digest)?.reason).toMatch(
      /^delete: part of sha256:\w{9}\.\.\. \[v1\], deleted with it$/,
    );
  });

  it('keeps the children of a kept index, even with deleteUntagged', () => {
    const items = plan([amd64, arm64, index], aPolicy({ rules: { deleteUntagged: true } }));
    expect([...items.values()].every((item) => item.decision === 'keep')).toBe(true);
  });

  describe('a tagged platform image the rule would not select on its own keeps its family', () => {
    // `docker buildx imagetools create -t web:1.0 web:1.0-amd64 web:1.0-arm64`: aws-ecr-gc looks
    // at each manifest alone and would keep web:1.0-amd64; so is its family kept whole.
    const taggedAmd64 = anImage('t-amd64').tagged('1.0-amd64').pushedDaysAgo(30).build();
    const plainArm64 = anImage('t-arm64').pushedDaysAgo(30).build();

    it('under deleteUntagged: an untagged index with a tagged child is kept', () => {
      const untaggedIndex = anImage('t-index').indexOf([taggedAmd64, plainArm64]).pushedDaysAgo(30).build();
      const items = plan(
        [taggedAmd64, plainArm64, untaggedIndex],
        aPolicy({ rules: { deleteUntagged: true } }),
      );
      for (const image of [untaggedIndex, taggedAmd64, plainArm64])
        expect(items.get(image.digest)?.decision).toBe('keep');
      expect(items.get(untaggedIndex.digest)?.reason).toBe(
        `kept: untagged, but its platform image ${taggedAmd64.digest.slice(0, 16)}... [1.0-amd64] is tagged`,
      );
    });

    it('under the keep rules: a child tag under no --keep prefix keeps the family', () => {
      const old = anImage('k-index')
        .tagged('build-1')
        .indexOf([taggedAmd64, plainArm64])
        .pushedDaysAgo(30)
        .build();
      const newer = anImage('k-new').tagged('build-2').pushedDaysAgo(1).build();
      const policy = aPolicy({ rules: { keep: [{ prefix: 'build', count: 1 }] } });
      const items = plan([taggedAmd64, plainArm64, old, newer], policy);
      expect(items.get(old.digest)).toMatchObject({
        decision: 'keep',
        reason: `kept: its platform image ${taggedAmd64.digest.slice(0, 16)}... [1.0-amd64] has tag '1.0-amd64', which matches no --keep prefix`,
      });
      expect(items.get(taggedAmd64.digest)?.decision).toBe('keep');
    });

    it('but a child whose tags the keep rules manage follows its root', () => {
      const managedAmd64 = anImage('m-amd64').tagged('build-1-amd64').pushedDaysAgo(30).build();
      const old = anImage('m-index')
        .tagged('build-1')
        .indexOf([managedAmd64, plainArm64])
        .pushedDaysAgo(30)
        .build();
      const newer = anImage('m-new').tagged('build-2').pushedDaysAgo(1).build();
      const items = plan(
        [managedAmd64, plainArm64, old, newer],
        aPolicy({ rules: { keep: [{ prefix: 'build', count: 1 }] } }),
      );
      for (const image of [old, managedAmd64, plainArm64])
        expect(items.get(image.digest)?.decision).toBe('delete');
    });

    it('under deleteUntagged with a lifecycle rule for untagged images too: still kept', () => {
      const untaggedIndex = anImage('l-index').indexOf([taggedAmd64, plainArm64]).pushedDaysAgo(30).build();
      const lifecyclePolicy = parseLifecyclePolicy(
        JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              selection: {
                tagStatus: 'untagged',
                countType: 'sinceImagePushed',
                countUnit: 'days',
                countNumber: 14,
              },
              action: { type: 'expire' },
            },
          ],
        }),
      );
      for (const deleteUntagged of [false, true]) {
        const items = plan(
          [taggedAmd64, plainArm64, untaggedIndex],
          aPolicy({ rules: { deleteUntagged, unusedTagged: false, lifecyclePolicy } }),
        );
        for (const image of [untaggedIndex, taggedAmd64, plainArm64])
          expect([deleteUntagged, items.get(image.digest)?.decision]).toEqual([deleteUntagged, 'keep']);
      }
    });

    it('but unusedTagged, which would select the tagged platform image on its own, deletes the family', () => {
      const untaggedIndex = anImage('u-index').indexOf([taggedAmd64, plainArm64]).pushedDaysAgo(30).build();
      const items = plan(
        [taggedAmd64, plainArm64, untaggedIndex],
        aPolicy({ rules: { deleteUntagged: true, unusedTagged: true } }),
      );
      for (const image of [untaggedIndex, taggedAmd64, plainArm64])
        expect(items.get(image.digest)?.decision).toBe('delete');
      expect(items.get(untaggedIndex.digest)?.reason).toBe(
        'delete: untagged, its platform images tagged, not seen for 7 days, never seen',
      );
    });

    it("and a signature follows its subject: its tag is the signing tool's, not a name", () => {
      const subject = anImage('s-subject').pushedDaysAgo(30).build();
      const signature = aCosignSignature(subject);
      const items = plan([subject, signature], aPolicy({ rules: { deleteUntagged: true } }));
      for (const image of [subject, signature]) expect(items.get(image.digest)?.decision).toBe('delete');
    });
  });

  it('keeps every member of a family when a child digest was sighted', () => {
    const items = plan([amd64, arm64, index], deleteAll, [aSighting(arm64, 'prod-eu', 1)]);
    expect([...items.values()].map((item) => item.decision)).toEqual(['keep', 'keep', 'keep']);
    expect(items.get(index.digest)?.reason).toMatch(
      /^kept: seen in prod-eu 1 day ago \(shop Deployment\/web\) \(child sha256:/,
    );
  });

  it("keeps a family when a child was pulled, ignoring the index's own pull time", () => {
    const pulledIndex = { ...index, lastPulledAt: new Date(NOW.getTime() - 3_600_000) };
    expect(plan([amd64, arm64, pulledIndex], deleteAll).get(index.digest)?.decision).toBe('delete');
    const pulledChild = { ...amd64, lastPulledAt: new Date(NOW.getTime() - 3_600_000) };
    expect(plan([pulledChild, arm64, index], deleteAll).get(index.digest)?.decision).toBe('keep');
  });

  it('keeps a family when a cosign signature carries a protected tag', () => {
    const image = anImage('signed').tagged('build-1').build();
    const signature = aCosignSignature(image);
    const items = plan([image, signature], { ...deleteAll, protectTags: ['sha256-*.sig'] });
    expect(items.get(image.digest)?.decision).toBe('keep');
    expect(items.get(signature.digest)).toMatchObject({ role: 'referrer', decision: 'keep' });
  });

  it('deletes referrers (cosign tags and OCI subject) with their subject', () => {
    const image = anImage('signed').tagged('build-1').build();
    const signature = aCosignSignature(image);
    const sbom = anImage('sbom').referring(image).build();
    const items = plan([image, signature, sbom], aPolicy({ rules: { keep: [parseKeepRule('build=0')] } }));
    expect([...items.values()].map((item) => [item.role, item.decision])).toEqual([
      ['root', 'delete'],
      ['referrer', 'delete'],
      ['referrer', 'delete'],
    ]);
    expect(items.get(image.digest)?.references).toEqual([]);
    expect(items.get(signature.digest)?.references).toEqual([image.digest]);
  });

  it('keeps a SOCI index with the image it indexes, and deletes it with that image', () => {
    // Prepare: a SOCI index (v1) is an image manifest of artifact type soci.index whose subject is the image.
    const image = anImage('lazy').tagged('build-1').build();
    const soci: RegistryImage = {
      ...anImage('soci').referring(image).build(),
      artifactType: 'application/vnd.amazon.soci.index.v1+json',
    };

    // Act
    const kept = plan(
      [image, soci],
      aPolicy({ rules: { keep: [parseKeepRule('build=1')], deleteUntagged: true } }),
    );
    const deleted = plan([image, soci], aPolicy({ rules: { keep: [parseKeepRule('build=0')] } }));

    // Assess: never a root of its own that --delete-untagged would take from a kept image.
    expect(kept.get(soci.digest)).toMatchObject({ role: 'referrer', root: image.digest, decision: 'keep' });
    expect(deleted.get(soci.digest)).toMatchObject({ role: 'referrer', decision: 'delete' });
  });

  it('keeps a referrer that names two images while either of them is kept', () => {
    // One cosign attachment manifest (no timestamp inside) attached to two images: two tags.
    const old = anImage('old').tagged('build-1').pushedDaysAgo(20).build();
    const current = anImage('current').tagged('build-2').pushedDaysAgo(10).build();
    const sbom: RegistryImage = {
      ...anImage('sbom').pushedDaysAgo(10).build(),
      tags: [`${old.digest.replace(':', '-')}.sbom`, `${current.digest.replace(':', '-')}.sbom`],
    };
    const policy = aPolicy({ rules: { keep: [parseKeepRule('build=1')] } });
    const items = plan([old, current, sbom], policy);
    expect(items.get(old.digest)?.decision).toBe('delete');
    expect(items.get(current.digest)?.decision).toBe('keep');
    expect(items.get(sbom.digest)).toMatchObject({ role: 'referrer', decision: 'keep' });
    expect(items.get(sbom.digest)?.references).toEqual([old.digest, current.digest]);
    const bothOld = plan([old, current, sbom], aPolicy({ rules: { keep: [parseKeepRule('build=0')] } }));
    expect(bothOld.get(sbom.digest)?.decision).toBe('delete');
  });

  it('treats a child whose index is gone as a root of its own', () => {
    const items = plan([amd64], aPolicy({ rules: { deleteUntagged: true } }));
    expect(items.get(amd64.digest)).toMatchObject({ role: 'root', decision: 'delete' });
  });

  it('keeps a platform manifest shared with a kept index while deleting the other index', () => {
    const shared = anImage('shared').build();
    const old = anImage('old').tagged('build-1').indexOf([shared]).pushedDaysAgo(20).build();
    const current = anImage('new').tagged('build-2').indexOf([shared]).pushedDaysAgo(10).build();
    const items = plan([shared, old, current], aPolicy({ rules: { keep: [parseKeepRule('build=1')] } }));
    expect(items.get(old.digest)?.decision).toBe('delete');
    expect(items.get(current.digest)?.decision).toBe('keep');
    expect(items.get(shared.digest)?.decision).toBe('keep');
  });

  it('decides every image once, even in a reference cycle', () => {
    const a = { ...anImage('a').build(), subject: anImage('b').build().digest };
    const b = { ...anImage('b').build(), subject: a.digest };
    const items = plan([a, b], deleteAll);
    expect(items.size).toBe(2);
  });
});

describe('planCleanup stale clusters', () => {
  it('blocks deletions in a repository a silent cluster reported from, naming it', () => {
    // Prepare
    const image = anImage('a').tagged('v1').build();
    const seenLongAgo = aSighting(anImage('other').build(), 'edge-1', 10);

    // Act
    const result = planCleanup({
      repositories: [{ repository: 'web', images: [image] }],
      sightings: [seenLongAgo],
      policy: deleteAll,
      now: NOW,
    });

    // Assess
    const repository = result.repositories[0]!;
    expect(repository.blockedBy.map((stale) => stale.cluster)).toEqual(['edge-1']);
    expect(repository.items[0]).toMatchObject({
      decision: 'keep',
      reason: 'kept: deletions blocked, no recent report from edge-1 (last report 10 days ago)',
    });
  });

  it('does not block a repository the stale cluster never reported from', () => {
    const image = anImage('a', 'api').tagged('v1').build();
    const result = planCleanup({
      repositories: [{ repository: 'api', images: [image] }],
      sightings: [aSighting(anImage('other').build(), 'edge-1', 10)],
      policy: deleteAll,
      now: NOW,
    });
    expect(result.repositories[0]!.blockedBy).toEqual([]);
    expect(result.repositories[0]!.items[0]?.decision).toBe('delete');
  });

  it('blocks a repository a silent cluster reported from, after its sightings there expired', () => {
    // The heartbeat keeps the repositories a cluster reported from; the sightings are gone (TTL).
    const image = anImage('a').tagged('v1').build();
    const result = planCleanup({
      repositories: [{ repository: 'web', images: [image] }],
      sightings: [],
      clusterReports: [
        { cluster: 'edge-1', lastReportAt: new Date(NOW.getTime() - 91 * 86_400_000), repositories: ['web'] },
      ],
      policy: deleteAll,
      now: NOW,
    });
    expect(result.repositories[0]!.blockedBy.map((stale) => stale.cluster)).toEqual(['edge-1']);
    expect(result.repositories[0]!.items[0]?.decision).toBe('keep');
  });

  it('lets a heartbeat keep a cluster fresh', () => {
    const image = anImage('a').tagged('v1').build();
    const result = planCleanup({
      repositories: [{ repository: 'web', images: [image] }],
      sightings: [aSighting(anImage('other').build(), 'edge-1', 10)],
      clusterReports: [{ cluster: 'edge-1', lastReportAt: new Date(NOW.getTime() - 3_600_000) }],
      policy: deleteAll,
      now: NOW,
    });
    expect(result.repositories[0]!.blockedBy).toEqual([]);
  });
});

describe('planCleanup repositories', () => {
  it('records a repository that could not be listed and decides nothing in it', () => {
    const result = planCleanup({
      repositories: [{ repository: 'broken', error: 'access denied' }],
      sightings: [],
      policy: deleteAll,
      now: NOW,
    });
    expect(result.repositories[0]).toMatchObject({ repository: 'broken', items: [], error: 'access denied' });
  });

  it('orders roots newest first, ties broken by digest', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((name) => anImage(name).tagged(name).pushedDaysAgo(5).build());
    const items = [...plan([c!, a!, b!], deleteAll).values()];
    const sorted = [a!, b!, c!].map((image) => image.digest).sort();
    expect(items.map((item) => item.digest)).toEqual(sorted);
  });
});

describe('planCleanup with unknown push times', () => {
  const epoch = (name: string, tag: string): RegistryImage => ({
    ...anImage(name).tagged(tag).build(),
    pushedAt: new Date(0),
    pushedAtSource: 'unknown',
  });

  it('never ranks an image without a push time among keep N candidates', () => {
    const images = [epoch('a', 'build-1'), epoch('b', 'build-2'), anImage('c').tagged('build-3').build()];
    const items = plan(images, aPolicy({ rules: { keep: [parseKeepRule('build=1')] } }));
    expect(items.get(images[0]!.digest)).toMatchObject({
      decision: 'keep',
      reason: expect.stringContaining('push time unknown'),
    });
    expect(items.get(images[1]!.digest)?.decision).toBe('keep');
  });

  it('keeps an image without a push time when a minimum age applies', () => {
    const image: RegistryImage = { ...epoch('a', 'x'), tags: [] };
    expect(
      plan([image], aPolicy({ minAgeDays: 3, rules: { deleteUntagged: true } })).get(image.digest),
    ).toMatchObject({
      decision: 'keep',
      reason: 'kept: push time unknown, so the minimum age (3 days) cannot be checked',
    });
    expect(
      plan([image], aPolicy({ minAgeDays: 0, rules: { deleteUntagged: true } })).get(image.digest)?.decision,
    ).toBe('delete');
  });
});

describe('planCleanup: the minimum age of attested and signed images without dated members', () => {
  // On an OCI registry, BuildKit attestation manifests and cosign signatures carry no usable date.
  const undated = (image: RegistryImage): RegistryImage => ({
    ...image,
    pushedAt: new Date(0),
    pushedAtSource: 'unknown',
  });
  const amd64 = anImage('amd64').pushedDaysAgo(10).build();
  const attestation = undated(anImage('att').build());
  const attested = anImage('idx')
    .tagged('build-1')
    .pushedDaysAgo(10)
    .indexOf([amd64, { digest: attestation.digest, attestation: true }])
    .build();
  const subject = anImage('subject').tagged('build-2').pushedDaysAgo(10).build();
  const signature = undated(aCosignSignature(subject));
  const policy = aPolicy({ minAgeDays: 3, rules: { keep: [parseKeepRule('build=0')] } });

  it('judges an index by its platform images, not by its undated attestations', () => {
    const items = plan([amd64, attestation, attested], policy);
    for (const image of [attested, amd64, attestation])
      expect(items.get(image.digest)?.decision).toBe('delete');
  });

  it('judges a subject by itself, not by an undated signature', () => {
    const items = plan([subject, signature], policy);
    expect(items.get(subject.digest)?.decision).toBe('delete');
    expect(items.get(signature.digest)?.decision).toBe('delete');
  });

  it('still keeps a family with a young signature, or an undated platform image', () => {
    const young = { ...aCosignSignature(subject), pushedAt: new Date(NOW.getTime() - 86_400_000) };
    expect(plan([subject, young], policy).get(subject.digest)?.reason).toMatch(/^kept: pushed 1 day ago/);
    const undatedChild = undated(anImage('arm64').build());
    const index = anImage('idx2').tagged('build-3').pushedDaysAgo(10).indexOf([amd64, undatedChild]).build();
    expect(plan([amd64, undatedChild, index], policy).get(index.digest)?.reason).toBe(
      'kept: push time unknown, so the minimum age (3 days) cannot be checked',
    );
  });
});

describe('planCleanup never lets a live cluster lose an image it reported', () => {
  it('keeps an image of a fresh report even with unusedDays 0', () => {
    const image = anImage('a').tagged('v1').build();
    const items = plan([image], { ...deleteAll, unusedDays: 0 }, [aSighting(image, 'prod-eu', 2 / 24)]);
    expect(items.get(image.digest)).toMatchObject({
      decision: 'keep',
      reason: expect.stringMatching(/^kept: seen in prod-eu 2 hours ago/),
    });
  });

  it('protects through a tag sighting from another name of the same registry, not from another registry', () => {
    const image = anImage('a').tagged('v1').build();
    const viaPort: Sighting = {
      ...aTagSighting('web', 'v1'),
      ref: { registry: `${ECR_HOST}:443`, repository: 'web', tag: 'v1' },
    };
    const viaMirror: Sighting = {
      ...aTagSighting('web', 'v1'),
      ref: { registry: 'registry.corp.internal', repository: 'web', tag: 'v1' },
    };
    const otherAccount: Sighting = {
      ...aTagSighting('web', 'v1'),
      ref: { registry: '999999999999.dkr.ecr.us-east-1.amazonaws.com', repository: 'web', tag: 'v1' },
    };
    expect(plan([image], deleteAll, [viaPort]).get(image.digest)?.decision).toBe('keep');
    expect(plan([image], deleteAll, [viaMirror]).get(image.digest)?.decision).toBe('keep');
    expect(plan([image], deleteAll, [otherAccount]).get(image.digest)?.decision).toBe('delete');
  });
});

describe('planCleanup on a registry that lists only what tags reach', () => {
  it('keeps every candidate when a sighted digest of the repository is not listed', () => {
    // Prepare: an untagged index runs (invisible to the OCI listing) and shares arm64 with build-1;
    // it may as well list the tagged platform image build-2-amd64, a root of its own here.
    const shared = anImage('arm64').build();
    const listedIndex = anImage('i1').tagged('build-1').indexOf([shared]).build();
    const platform = anImage('amd64').tagged('build-2-amd64').build();
    const running = aSighting(anImage('untagged-index').build(), 'prod-eu', 0.01);
    const input = {
      sightings: [running],
      clusterReports: [{ cluster: 'prod-eu', lastReportAt: NOW }],
      policy: aPolicy({ rules: { keep: [parseKeepRule('build=0')] } }),
      now: NOW,
    };

    // Act
    const partial = planCleanup({
      ...input,
      repositories: [{ repository: 'web', images: [shared, listedIndex, platform], partial: true }],
    });
    const complete = planCleanup({
      ...input,
      repositories: [{ repository: 'web', images: [shared, listedIndex, platform] }],
    });
    // The listing read the sighted digest and the registry does not hold it: nothing to fear.
    const checked = planCleanup({
      ...input,
      repositories: [
        {
          repository: 'web',
          images: [shared, listedIndex, platform],
          partial: true,
          checkedDigests: sightedDigestsOf(input.sightings, 'web'),
        },
      ],
    });

    // Assess
    const decisions = (plan: typeof partial) =>
      plan.repositories[0]!.items.map((item) => [item.role, item.decision]);
    expect(decisions(partial)).toEqual([
      ['root', 'keep'],
      ['root', 'keep'],
      ['child', 'keep'],
    ]);
    for (const item of partial.repositories[0]!.items)
      expect(item.reason).toMatch(/runs in prod-eu but the registry cannot list it/);
    expect(decisions(complete)).toEqual([
      ['root', 'delete'],
      ['root', 'delete'],
      ['child', 'delete'],
    ]);
    expect(decisions(checked)).toEqual(decisions(complete));
    expect(sightedDigestsOf(input.sightings, 'web')).toEqual([running.ref.digest]);
    expect(sightedDigestsOf(input.sightings, 'api')).toEqual([]);
  });
});

describe('planCleanup on odd listings', () => {
  const signed = (name: string, subject: string, days: number): RegistryImage => ({
    ...anImage(name).pushedDaysAgo(days).build(),
    tags: [`${subject.replace(':', '-')}.sig`],
  });

  it('decides every image once when cosign tags name each other in a cycle', () => {
    // Prepare: A and B sign each other, C signs A.
    const [a, b] = [anImage('a').build(), anImage('b').build()];
    const images = [signed('a', b.digest, 1), signed('b', a.digest, 30), signed('c', a.digest, 30)];
    const fixed = images.map((image, i) => ({
      ...image,
      digest: [a.digest, b.digest, anImage('c').build().digest][i]!,
    }));

    // Act
    const items = planCleanup({
      repositories: [{ repository: 'web', images: fixed }],
      sightings: [],
      policy: aPolicy({ minAgeDays: 3, rules: { unusedTagged: true } }),
      now: NOW,
    }).repositories[0]!.items;

    // Assess
    expect(new Set(items.map((item) => item.digest)).size).toBe(items.length);
    expect(items).toHaveLength(3);
  });

  it('decides an image once, and keeps it, when a cycle reaches it twice and a digest is listed twice', () => {
    // Prepare: A1 and A2 sign each other; index B1 (signed by B2, and signing it) lists A1; B2 runs.
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    const [a1, a2, b1, b2] = ['1', '2', '3', '4'].map(digest) as [string, string, string, string];
    const at = (d: string) => `${d.replace(':', '-')}.sig`;
    const images: RegistryImage[] = [
      { ...anImage('a1').pushedDaysAgo(300).build(), digest: a1, tags: [at(a2)] },
      { ...anImage('a2').pushedDaysAgo(300).build(), digest: a2, tags: [at(a1)] },
      {
        ...anImage('b1')
          .indexOf([{ ...anImage('a1').build(), digest: a1 }])
          .pushedDaysAgo(300)
          .build(),
        digest: b1,
        tags: [at(b2)],
      },
      { ...anImage('b2').pushedDaysAgo(300).build(), digest: b2, tags: [at(b1)] },
    ];
    const running = { ...images[3]!, tags: [] };

    const itemsOf = (listing: RegistryImage[]) =>
      planCleanup({
        repositories: [{ repository: 'web', images: listing }],
        sightings: [aSighting(running, 'prod', 1)],
        policy: deleteAll,
        now: NOW,
      }).repositories[0]!.items;

    // Act: the same images, then with B2 listed twice (a page that shifted during a push)
    const once = itemsOf(images);
    const twice = itemsOf([...images, images[3]!]);

    // Assess
    for (const items of [once, twice]) {
      expect(items.map((item) => item.digest).sort()).toEqual([a1, a2, b1, b2]);
      expect(items.find((item) => item.digest === a1)?.decision).toBe('keep');
    }
  });

  it('treats an invalid push date as unknown: never ranked, kept while a minimum age applies', () => {
    const image = { ...anImage('x').tagged('build-1').build(), pushedAt: new Date(Number.NaN) };
    const ranked = plan([image], aPolicy({ rules: { keep: [parseKeepRule('build=0')] } }));
    expect(ranked.get(image.digest)).toMatchObject({
      decision: 'keep',
      reason: expect.stringContaining('push time unknown'),
    });
    const aged = plan([{ ...image, tags: [] }], aPolicy({ minAgeDays: 3, rules: { deleteUntagged: true } }));
    expect(aged.get(image.digest)?.decision).toBe('keep');
  });
});

describe('lifecycle rules and families', () => {
  // ECR evaluates every image: a platform image that a rule selects and keeps stays there even
  // when its index expires. A family is decided whole, so that member keeps it all.
  const amd64 = anImage('amd64').tagged('1.0-amd64').pushedDaysAgo(60).build();
  const arm64 = anImage('arm64').pushedDaysAgo(60).build();
  const index = anImage('index').tagged('1.0').pushedDaysAgo(60).indexOf([amd64, arm64]).build();
  const keepPlatforms = {
    rulePriority: 1,
    description: 'platform tags',
    selection: {
      tagStatus: 'tagged',
      tagPatternList: ['*-amd64'],
      countType: 'imageCountMoreThan',
      countNumber: 9999,
    },
    action: { type: 'expire' },
  };
  const older30 = {
    rulePriority: 2,
    selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
    action: { type: 'expire' },
  };
  const withRules = (...rules: object[]) =>
    aPolicy({
      rules: {
        deleteUntagged: false,
        unusedTagged: false,
        lifecyclePolicy: parseLifecyclePolicy(JSON.stringify({ rules })),
      },
    });

  it('keeps a family whose tagged member a higher-priority rule selects and keeps', () => {
    const items = plan([amd64, arm64, index], withRules(keepPlatforms, older30));
    for (const image of [index, amd64, arm64]) expect(items.get(image.digest)?.decision).toBe('keep');
    expect(items.get(index.digest)?.reason).toBe(
      `kept: ${amd64.digest.slice(0, 16)}... [1.0-amd64] of its family is selected by lifecycle rule 1 ("platform tags"), which does not expire it`,
    );
  });

  it('deletes the family when the rule that expires the index expires its tagged members too', () => {
    const items = plan([amd64, arm64, index], withRules(older30));
    for (const image of [index, amd64, arm64]) expect(items.get(image.digest)?.decision).toBe('delete');
    expect(items.get(index.digest)?.reason).toMatch(/^delete: lifecycle rule 2: pushed 60 days ago/);
  });

  it('lets a catch-all rule below the expiring one hold nothing: a signed image goes like an unsigned one', () => {
    // Rule 1 keeps the newest 2 v*; rule 2 (any, older than 30 days) selects the signatures
    // without expiring them. Only a rule of higher priority than rule 1 could hold a family.
    const versions = [0, 1, 2, 3, 4].map((n) =>
      anImage(`v${n}`)
        .tagged(`v${n}`)
        .pushedDaysAgo(10 - n)
        .build(),
    );
    const signatures = [versions[0]!, versions[2]!].map((subject) => aCosignSignature(subject));
    const newestTwo = {
      rulePriority: 1,
      selection: {
        tagStatus: 'tagged',
        tagPrefixList: ['v'],
        countType: 'imageCountMoreThan',
        countNumber: 2,
      },
      action: { type: 'expire' },
    };
    const items = plan([...versions, ...signatures], withRules(newestTwo, older30));
    expect(versions.map((image) => items.get(image.digest)?.decision)).toEqual([
      'delete',
      'delete',
      'delete',
      'keep',
      'keep',
    ]);
    for (const signature of signatures) expect(items.get(signature.digest)?.decision).toBe('delete');
  });

  it('says which rule kept an image it selected and did not expire', () => {
    const versions = [1, 2, 3].map((n) =>
      anImage(`kept-v${n}`)
        .tagged(`v${n}`)
        .pushedDaysAgo(10 - n)
        .build(),
    );
    const newestTwo = {
      rulePriority: 1,
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['*'],
        countType: 'imageCountMoreThan',
        countNumber: 2,
      },
      action: { type: 'expire' },
    };
    const items = plan(versions, withRules(newestTwo));
    expect(versions.map((image) => items.get(image.digest)?.reason)).toEqual([
      expect.stringMatching(/^delete: lifecycle rule 1: beyond the newest 2 images tagged \*/),
      'kept: selected by lifecycle rule 1, which does not expire it',
      'kept: selected by lifecycle rule 1, which does not expire it',
    ]);
  });

  it('lets a member with no known push time hold its family when a higher-priority rule selects it', () => {
    // On an OCI registry a cosign signature has no date: no rule can age or rank it, so the rule
    // that selects it keeps it, as ECR (which knows its push time) would keep it here.
    const root = {
      ...anImage('oci-root').tagged('1.0').pushedDaysAgo(60).build(),
      pushedAtSource: 'config-created' as const,
    };
    const undated = { ...aCosignSignature(root), pushedAt: new Date(0), pushedAtSource: 'unknown' as const };
    const signatures = {
      rulePriority: 1,
      description: 'signatures',
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['sha256-*'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 3650,
      },
      action: { type: 'expire' },
    };
    const items = plan([root, undated], withRules(signatures, older30));
    for (const image of [root, undated]) expect(items.get(image.digest)?.decision).toBe('keep');
    expect(items.get(root.digest)?.reason).toContain(
      'of its family is selected by lifecycle rule 1 ("signatures"), which cannot age or rank it: its push time is unknown',
    );
    const counted = {
      ...signatures,
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['sha256-*'],
        countType: 'imageCountMoreThan',
        countNumber: 1,
      },
    };
    const other = {
      ...anImage('oci-other').tagged('2.0').pushedDaysAgo(50).build(),
      pushedAtSource: 'config-created' as const,
    };
    const otherUndated = {
      ...aCosignSignature(other),
      pushedAt: new Date(0),
      pushedAtSource: 'unknown' as const,
    };
    const both = plan([root, undated, other, otherUndated], withRules(counted, older30));
    for (const image of [root, undated, other, otherUndated])
      expect(both.get(image.digest)?.decision).toBe('keep');
  });

  it('still deletes it by another rule: a lifecycle keep only takes back what the lifecycle policy proposed', () => {
    const untaggedIndex = anImage('index2').pushedDaysAgo(60).indexOf([arm64]).build();
    const signature = { ...aCosignSignature(untaggedIndex), pushedAt: untaggedIndex.pushedAt };
    const keepSignatures = {
      ...keepPlatforms,
      selection: { ...keepPlatforms.selection, tagPatternList: ['sha256-*'] },
    };
    const policy = withRules(keepSignatures, older30);
    const items = plan([arm64, untaggedIndex, signature], {
      ...policy,
      rules: { ...policy.rules, deleteUntagged: true },
    });
    expect(items.get(untaggedIndex.digest)?.reason).toBe('delete: untagged, never seen');
  });
});
