import type { RegistryImage } from '../../lambdas/core/model';
import { type PlanItem, planCleanup } from '../../lambdas/core/plan';
import {
  keepFamiliesWhole,
  keepRetagged,
  recheckApproved,
  recheckRepository,
} from '../../lambdas/core/recheck';
import { shortDigest } from '../../lambdas/core/time-text';
import { aCosignSignature, anImage, aPolicy, NOW } from '../fixtures/builders';

const deleteAll = aPolicy({ rules: { deleteUntagged: true, unusedTagged: true } });

function planOf(images: RegistryImage[], policy = deleteAll): Map<string, PlanItem> {
  const plan = planCleanup({
    repositories: [{ repository: 'web', images }],
    sightings: [],
    policy,
    now: NOW,
  });
  return new Map(plan.repositories[0]!.items.map((item) => [item.digest, item]));
}

describe('keepFamiliesWhole', () => {
  const a = anImage('a').build();
  const b = anImage('b').build();
  const index = anImage('i').tagged('v1').indexOf([a, b]).build();
  const signature = aCosignSignature(index);

  it('skips the children and signature of an index that is not being deleted', () => {
    // Prepare: all four approved; the index itself was skipped by its re-check (re-tagged).
    const fresh = planOf([a, b, index, signature]);
    const checked = [fresh.get(a.digest)!, fresh.get(b.digest)!, fresh.get(signature.digest)!];

    // Act
    const { ready, blocked } = keepFamiliesWhole(checked, fresh);

    // Assess: the index stays, so its children and its signature stay with it.
    expect(ready).toEqual([]);
    expect(blocked.get(a.digest)).toMatch(/^sha256:\w{9}\.\.\., which points to it, is not being deleted$/);
    expect(blocked.has(b.digest)).toBe(true);
    expect(blocked.get(signature.digest)).toMatch(
      /^it refers to sha256:\w{9}\.\.\., which is not being deleted$/,
    );
  });

  it('keeps a platform image shared with an index that stays', () => {
    // Prepare: I1 and I2 share C; only I2 and C were approved.
    const shared = anImage('c').build();
    const first = anImage('i1').tagged('v1').indexOf([shared]).build();
    const second = anImage('i2').tagged('v2').indexOf([shared]).build();
    const fresh = planOf([shared, first, second]);

    // Act
    const { ready } = keepFamiliesWhole(
      [fresh.get(second.digest)!, { ...fresh.get(shared.digest)!, decision: 'delete' }],
      fresh,
    );

    // Assess
    expect(ready.map((item) => item.digest)).toEqual([second.digest]);
  });

  it('lets a whole family go when all of it goes', () => {
    const fresh = planOf([a, b, index, signature]);
    const { ready, blocked } = keepFamiliesWhole([...fresh.values()], fresh);
    expect(ready).toHaveLength(4);
    expect(blocked.size).toBe(0);
  });
});

describe('recheckApproved', () => {
  const image = anImage('x').tagged('v1').build();
  const scanned = planOf([image]).get(image.digest)!;
  const approved = () => true;

  it.each([
    ['is gone already', undefined, { status: 'deleted' }],
    [
      'became protected',
      { ...scanned, decision: 'keep' as const, reason: 'kept: seen in prod 1 hour ago' },
      { status: 'skipped', reason: 'became protected since the scan (kept: seen in prod 1 hour ago)' },
    ],
    [
      'got a new tag',
      { ...scanned, tags: ['v1', 'prod'] },
      { status: 'skipped', reason: 'tags changed since the scan: [v1] → [v1, prod]' },
    ],
    [
      'joined another family',
      { ...scanned, root: 'sha256:other' },
      { status: 'skipped', reason: expect.stringContaining('family changed') },
    ],
  ])('skips an image that %s', (_name, fresh, outcome) => {
    expect(recheckApproved(scanned, fresh, approved)).toEqual(outcome);
  });

  it('deletes an image that is still a candidate with the same tags and family', () => {
    expect(recheckApproved(scanned, scanned, approved)).toBe('delete');
  });

  it('skips a member of a family whose root was not approved, naming the root', () => {
    // Prepare: a platform image approved on its own, its index not.
    const child = anImage('c').build();
    const parent = anImage('p').indexOf([child]).build();
    const asScanned = planOf([child, parent]).get(child.digest)!;
    const rootNotApproved = (_repository: string, digest: string) => digest !== parent.digest;

    // Act
    const outcome = recheckApproved(asScanned, asScanned, rootNotApproved);

    // Assess
    expect(outcome).toEqual({
      status: 'skipped',
      reason: `${shortDigest(parent.digest)}, which it belongs to, was not approved`,
    });
    expect(recheckApproved(asScanned, asScanned, approved)).toBe('delete');
  });

  it('says so when the index a platform image belonged to is gone since the scan', () => {
    // An earlier run deleted the index, then stopped before its children: each is a root now.
    const child = anImage('c').build();
    const parent = anImage('p').tagged('v1').indexOf([child]).build();
    const asScanned = planOf([child, parent]).get(child.digest)!;
    const alone = planOf([child]).get(child.digest)!;

    const outcome = recheckApproved(asScanned, alone, approved, (digest) => digest === child.digest);

    expect(outcome).toEqual({
      status: 'skipped',
      reason: expect.stringContaining(
        'which it belonged to, is gone since the scan: it is an image of its own now',
      ),
    });
  });
});

describe('keepRetagged', () => {
  const a = anImage('a').build();
  const b = anImage('b').build();
  const index = anImage('i').indexOf([a, b]).build();
  const subject = anImage('s').build();
  const referrer = anImage('r').referring(subject).build();
  const old = anImage('o').tagged('build-1').build();
  const items = [...planOf([a, b, index, subject, referrer, old]).values()];
  const candidates = items.filter((item) => item.decision === 'delete');
  const asListed = new Map(candidates.map((item) => [item.digest, item.tags]));
  const digestsOf = (list: readonly { readonly digest: string }[]) =>
    list.map((entry) => entry.digest).sort();
  const skippedOf = (current: ReadonlyMap<string, readonly string[]>) =>
    Object.fromEntries(
      keepRetagged(items, current).skipped.map((outcome) => [
        outcome.item.digest,
        outcome.status === 'skipped' ? outcome.reason : outcome.status,
      ]),
    );

  it('deletes every candidate whose tags are those of the listing, in any order, and those gone since', () => {
    // Prepare: one tag list in another order; one image no longer there.
    const current = new Map(asListed);
    current.set(old.digest, ['build-1']);
    current.delete(b.digest);

    // Act
    const { ready, skipped } = keepRetagged(items, current);

    // Assess
    expect(candidates).toHaveLength(6);
    expect(digestsOf(ready)).toEqual(digestsOf(candidates));
    expect(skipped).toEqual([]);
  });

  it.each([
    ['an untagged image tagged since', 'subject', ['release'], '[] → [release]'],
    ['a tagged image untagged since', 'old', [], '[build-1] → []'],
    ['a tagged image with another tag too', 'old', ['prod', 'build-1'], '[build-1] → [build-1, prod]'],
  ])('keeps %s, saying what changed', (_, which, tags, change) => {
    const image = which === 'old' ? old : subject;
    const current = new Map(asListed).set(image.digest, tags);
    expect(skippedOf(current)[image.digest]).toBe(`tags changed since the listing: ${change}`);
  });

  it('keeps the whole family of an image tagged since: an index with its children, a subject with its referrer', () => {
    // Prepare
    const current = new Map(asListed).set(index.digest, ['v1']).set(subject.digest, ['v2']);

    // Act
    const skipped = skippedOf(current);
    const { ready } = keepRetagged(items, current);

    // Assess: only the old build goes; every member of the two families stays, each saying why.
    expect(digestsOf(ready)).toEqual([old.digest]);
    expect(Object.keys(skipped).sort()).toEqual(digestsOf([a, b, index, subject, referrer]));
    expect(skipped[a.digest]).toMatch(
      /^kept with its family: the tags of sha256:\w{9}\.\.\. changed since the listing$/,
    );
    expect(skipped[a.digest]).toContain(index.digest.slice(7, 16));
    expect(skipped[referrer.digest]).toContain(subject.digest.slice(7, 16));
  });

  it('keeps the index and its other children when only a child was tagged since', () => {
    // As in planning: when any member of a family must be kept, every member is.
    const current = new Map(asListed).set(a.digest, ['amd64']);
    const { ready, skipped } = keepRetagged(items, current);
    expect(digestsOf(ready)).toEqual(digestsOf([subject, referrer, old]));
    expect(digestsOf(skipped.map((outcome) => outcome.item))).toEqual(digestsOf([a, b, index]));
  });

  it('keeps every family a retagged platform image belongs to, not only the one its item names', () => {
    // A platform image shared by two indexes (reproducible builds): its item names one root.
    const shared = anImage('shared').build();
    const onlyA = anImage('only-a').build();
    const onlyB = anImage('only-b').build();
    const indexA = anImage('index-a').indexOf([shared, onlyA]).build();
    const indexB = anImage('index-b').indexOf([shared, onlyB]).build();
    const planned = [...planOf([shared, onlyA, onlyB, indexA, indexB]).values()];
    expect(planned.every((item) => item.decision === 'delete')).toBe(true);
    const current = new Map(planned.map((item) => [item.digest, item.tags]));
    current.set(shared.digest, ['hotfix-amd64']);

    const { ready, skipped } = keepRetagged(planned, current);

    expect(ready).toEqual([]);
    expect(digestsOf(skipped.map((outcome) => outcome.item))).toEqual(
      digestsOf([shared, onlyA, onlyB, indexA, indexB]),
    );
  });

  it('leaves kept images out', () => {
    // Prepare: the newest build is kept by a keep rule; its tags changing changes nothing here.
    const keepOne = aPolicy({
      rules: { deleteUntagged: true, unusedTagged: false, keep: [{ prefix: 'build', count: 1 }] },
    });
    const kept = anImage('k').tagged('build-2').build();
    const planned = [...planOf([old, kept], keepOne).values()];
    const current = new Map([
      [old.digest, ['build-1']],
      [kept.digest, ['other']],
    ]);

    // Act
    const { ready, skipped } = keepRetagged(planned, current);

    // Assess
    expect(planned.find((item) => item.digest === kept.digest)?.decision).toBe('keep');
    expect(skipped).toEqual([]);
    expect(digestsOf(ready)).toEqual([old.digest]);
  });
});

describe('recheckRepository', () => {
  const shared = anImage('shared').build();
  const onlyA = anImage('only-a').build();
  const onlyB = anImage('only-b').build();
  const indexA = anImage('index-a').tagged('a').indexOf([shared, onlyA]).build();
  const indexB = anImage('index-b').tagged('b').indexOf([shared, onlyB]).build();
  const scanned = [...planOf([shared, onlyA, onlyB, indexA, indexB]).values()];
  const approveAll = () => true;

  it('deletes every approved candidate that a plan made now still deletes, as it was', () => {
    const fresh = planOf([shared, onlyA, onlyB, indexA, indexB]);
    const { ready, outcomes } = recheckRepository(scanned, fresh, approveAll);
    expect(ready).toHaveLength(5);
    expect(outcomes.size).toBe(0);
  });

  it('keeps every family of a platform image tagged since the scan, each index sharing it included', () => {
    // Prepare: the shared platform image was tagged since; a plan made now still deletes it all.
    const fresh = planOf([{ ...shared, tags: ['hotfix-amd64'] }, onlyA, onlyB, indexA, indexB]);
    expect([...fresh.values()].every((item) => item.decision === 'delete')).toBe(true);

    // Act
    const { ready, outcomes } = recheckRepository(scanned, fresh, approveAll);

    // Assess
    expect(ready).toEqual([]);
    const reasons = new Map([...outcomes].map(([item, outcome]) => [item.digest, outcome]));
    expect(reasons.get(shared.digest)).toEqual({
      status: 'skipped',
      reason: 'tags changed since the scan: [] → [hotfix-amd64]',
    });
    for (const image of [indexA, indexB, onlyA, onlyB]) {
      expect(reasons.get(image.digest)).toEqual({
        status: 'skipped',
        reason: `kept with its family: the tags of ${shared.digest.slice(0, 16)}... changed since the scan`,
      });
    }
  });
});
