import { scheduleDeletions } from '../../lambdas/core/deletion-schedule';
import { executePlan, executePlanRechecked } from '../../lambdas/core/execute-plan';
import type { RegistryImage } from '../../lambdas/core/model';
import { type Plan, planCleanup } from '../../lambdas/core/plan';
import type { DeleteResult, Registry } from '../../lambdas/core/ports';
import { aCosignSignature, anImage, aPolicy, NOW } from '../fixtures/builders';

const deleteAll = aPolicy({ rules: { deleteUntagged: true, unusedTagged: true } });

function planOf(images: RegistryImage[]): Plan {
  return planCleanup({
    repositories: [{ repository: 'web', images }],
    sightings: [],
    policy: deleteAll,
    now: NOW,
  });
}

/** A registry that records each request and answers from `answer` (deleted by default). */
function recordingRegistry(
  answer: (digest: string) => DeleteResult = (digest) => ({ digest, status: 'deleted' }),
) {
  const requests: string[][] = [];
  const registry: Pick<Registry, 'deleteImages'> = {
    async deleteImages(_repository, digests) {
      requests.push([...digests]);
      return digests.map(answer);
    },
  };
  return { registry, requests };
}

const amd64 = anImage('amd64').build();
const arm64 = anImage('arm64').build();
const index = anImage('index').tagged('v1').indexOf([amd64, arm64]).build();
const signature = aCosignSignature(index);

describe('scheduleDeletions', () => {
  it('deletes referrers first, then their index, then its children', () => {
    const batches = scheduleDeletions(planOf([amd64, arm64, index, signature]).repositories[0]!.items);
    expect(batches.map((batch) => batch.items.map((item) => item.digest))).toEqual([
      [signature.digest],
      [index.digest],
      [amd64.digest, arm64.digest],
    ]);
  });

  it('never puts more than 100 images in one request', () => {
    const images = Array.from({ length: 250 }, (_, i) => anImage(`i${i}`).build());
    const batches = scheduleDeletions(planOf(images).repositories[0]!.items);
    expect(batches.map((batch) => batch.items.length)).toEqual([100, 100, 50]);
  });
});

describe('executePlan', () => {
  it('deletes in schedule order and reports every image as deleted', async () => {
    // Prepare
    const { registry, requests } = recordingRegistry();

    // Act
    const outcomes = await executePlan(planOf([amd64, arm64, index]), registry);

    // Assess
    expect(requests).toEqual([[index.digest], [amd64.digest, arm64.digest]]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['deleted', 'deleted', 'deleted']);
  });

  it('treats an image that is already gone as deleted', async () => {
    const { registry } = recordingRegistry((digest) => ({ digest, status: 'gone' }));
    const outcomes = await executePlan(planOf([anImage('x').build()]), registry);
    expect(outcomes[0]?.status).toBe('deleted');
  });

  it('skips the children of an index that could not be deleted', async () => {
    // Prepare
    const { registry, requests } = recordingRegistry((digest) =>
      digest === index.digest
        ? { digest, status: 'failed', code: 'AccessDenied', message: 'no' }
        : { digest, status: 'deleted' },
    );

    // Act
    const outcomes = await executePlan(planOf([amd64, arm64, index]), registry);

    // Assess
    expect(requests).toEqual([[index.digest]]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['failed', 'skipped', 'skipped']);
  });

  it('records a request that throws as a failure of its images and goes on with the rest', async () => {
    // Prepare
    let calls = 0;
    const registry: Pick<Registry, 'deleteImages'> = {
      async deleteImages(_repository, digests) {
        calls++;
        if (calls === 1) throw new Error('network down');
        return digests.map((digest) => ({ digest, status: 'deleted' as const }));
      },
    };
    const images = Array.from({ length: 150 }, (_, i) => anImage(`i${i}`).build());

    // Act
    const outcomes = await executePlan(planOf(images), registry);

    // Assess
    expect(outcomes.filter((outcome) => outcome.status === 'failed')).toHaveLength(100);
    expect(outcomes.filter((outcome) => outcome.status === 'deleted')).toHaveLength(50);
  });

  it('deletes nothing in a repository that is blocked by a stale cluster or failed to list', async () => {
    const { registry, requests } = recordingRegistry();
    const plan: Plan = {
      createdAt: NOW,
      repositories: [
        {
          ...planOf([anImage('x').build()]).repositories[0]!,
          blockedBy: [{ cluster: 'edge', lastReportAt: NOW }],
        },
        { repository: 'broken', totalImages: 0, items: [], blockedBy: [], error: 'denied' },
      ],
    };
    expect(await executePlan(plan, registry)).toEqual([]);
    expect(requests).toEqual([]);
  });
});

describe('executePlanRechecked', () => {
  const old = anImage('old', 'api').build();
  const untagged = anImage('u').build();

  function twoRepositories(): Plan {
    return planCleanup({
      repositories: [
        { repository: 'web', images: [amd64, arm64, index, signature, untagged] },
        { repository: 'api', images: [old] },
      ],
      sightings: [],
      policy: deleteAll,
      now: NOW,
    });
  }

  /** A registry that records re-reads and deletions in order, and answers tags from `tagsNow`. */
  function recheckingRegistry(tagsNow: (repository: string, digest: string) => string[] | Error) {
    const events: string[] = [];
    const registry: Pick<Registry, 'deleteImages' | 'currentTags'> = {
      async currentTags(repository, digests) {
        events.push(`read ${repository} ${digests.length}`);
        const answer = new Map<string, readonly string[]>();
        for (const digest of digests) {
          const tags = tagsNow(repository, digest);
          if (tags instanceof Error) throw tags;
          answer.set(digest, tags);
        }
        return answer;
      },
      async deleteImages(repository, digests) {
        events.push(`delete ${repository} ${digests.length}`);
        return digests.map((digest) => ({ digest, status: 'deleted' as const }));
      },
    };
    return { registry, events };
  }

  const asPlanned = (plan: Plan) => {
    const tags = new Map(
      plan.repositories.flatMap((repository) => repository.items).map((item) => [item.digest, item.tags]),
    );
    return (_: string, digest: string) => [...(tags.get(digest) ?? [])];
  };

  it("re-reads each repository's candidates just before deleting them, and deletes them when nothing changed", async () => {
    // Prepare
    const plan = twoRepositories();
    const { registry, events } = recheckingRegistry(asPlanned(plan));

    // Act
    const outcomes = await executePlanRechecked(plan, registry);

    // Assess: web's 5 candidates (signature, index, children, untagged), then api's one.
    expect(events).toEqual([
      'read web 5',
      'delete web 2',
      'delete web 1',
      'delete web 2',
      'read api 1',
      'delete api 1',
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(6).fill('deleted'));
  });

  it('keeps a retagged index with its family and deletes the rest', async () => {
    // Prepare
    const plan = twoRepositories();
    const planned = asPlanned(plan);
    const { registry, events } = recheckingRegistry((repository, digest) =>
      digest === index.digest ? ['v1', 'promoted'] : planned(repository, digest),
    );

    // Act
    const outcomes = await executePlanRechecked(plan, registry);

    // Assess
    const byDigest = new Map(outcomes.map((outcome) => [outcome.item.digest, outcome]));
    expect(byDigest.get(index.digest)).toMatchObject({
      status: 'skipped',
      reason: 'tags changed since the listing: [v1] → [promoted, v1]',
    });
    for (const member of [amd64, arm64, signature])
      expect(byDigest.get(member.digest)?.status).toBe('skipped');
    expect(byDigest.get(untagged.digest)?.status).toBe('deleted');
    expect(byDigest.get(old.digest)?.status).toBe('deleted');
    expect(events).toEqual(['read web 5', 'delete web 1', 'read api 1', 'delete api 1']);
  });

  it('deletes nothing in a repository whose re-read fails, naming the error, and goes on with the others', async () => {
    // Prepare
    const plan = twoRepositories();
    const planned = asPlanned(plan);
    const denied = Object.assign(new Error('ecr:DescribeImages on web: access denied'), {
      cause: Object.assign(new Error('no'), { name: 'AccessDeniedException' }),
    });
    const { registry, events } = recheckingRegistry((repository, digest) =>
      repository === 'web' ? denied : planned(repository, digest),
    );

    // Act
    const outcomes = await executePlanRechecked(plan, registry);

    // Assess
    const web = outcomes.filter((outcome) => outcome.item.repository === 'web');
    expect(web).toHaveLength(5);
    for (const outcome of web) {
      expect(outcome).toMatchObject({
        status: 'failed',
        code: 'AccessDeniedException',
        message:
          'not deleted: its tags could not be read again before deleting: ecr:DescribeImages on web: access denied',
      });
    }
    expect(events).toEqual(['read web 5', 'read api 1', 'delete api 1']);
  });

  it('reports progress up to the total when every candidate of a repository is kept', async () => {
    // Prepare: api's only candidate was tagged since the listing.
    const plan = twoRepositories();
    const planned = asPlanned(plan);
    const { registry } = recheckingRegistry((repository, digest) =>
      repository === 'api' ? ['promoted'] : planned(repository, digest),
    );
    const progress: string[] = [];

    // Act
    await executePlanRechecked(plan, registry, (step) => progress.push(`${step.done}/${step.total}`));

    // Assess
    expect(progress.at(-1)).toBe('6/6');
  });

  it('deletes as planned on a registry that cannot re-read tags, and reports progress over all repositories', async () => {
    // Prepare
    const plan = twoRepositories();
    const { registry, requests } = recordingRegistry();
    const progress: string[] = [];

    // Act
    const outcomes = await executePlanRechecked(plan, registry, (step) =>
      progress.push(`${step.done}/${step.total}`),
    );

    // Assess
    expect(requests.map((digests) => digests.length)).toEqual([2, 1, 2, 1]);
    expect(outcomes).toHaveLength(6);
    expect(progress).toEqual(['2/6', '3/6', '5/6', '6/6']);
  });
});
