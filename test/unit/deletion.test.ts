import { scheduleDeletions } from '../../lambdas/core/deletion-schedule';
import { executePlan } from '../../lambdas/core/execute-plan';
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
