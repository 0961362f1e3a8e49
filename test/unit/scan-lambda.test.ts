import { hmacSha256Hex } from '../../lambdas/adapters/crypto';
import { silentLog } from '../../lambdas/adapters/log';
import type { RegistryImage } from '../../lambdas/core/model';
import type { Registry } from '../../lambdas/core/ports';
import type { ScanTask } from '../../lambdas/core/ports-scan';
import { parseScanConfig } from '../../lambdas/core/scan-config';
import type { PlanRecord, PlanStore } from '../../lambdas/core/stores';
import { reuseRecent, type ScanDeps, USAGE_REUSE_MS } from '../../lambdas/handlers/scan';
import { handleScanTasks, handleScheduledScan, type SqsEvent } from '../../lambdas/handlers/scan-lambda';

const NOW = new Date('2026-11-22T06:00:30Z');

/** Plans in memory, as much of the store as a scan uses. */
function fakePlans(existing: readonly PlanRecord[]) {
  const plans = new Map(existing.map((plan) => [plan.id, plan]));
  const stored = new Map<string, Set<string>>();
  const store: Pick<
    PlanStore,
    | 'createPlan'
    | 'listPlan'
    | 'getPlan'
    | 'putRepositoryPlan'
    | 'storedRepositories'
    | 'summaries'
    | 'completeScan'
    | 'markTasksQueued'
  > = {
    createPlan: async (plan) => {
      if (plans.has(plan.id)) return false;
      plans.set(plan.id, { ...plan, status: plan.status ?? 'SCANNING' });
      return true;
    },
    listPlan: async () => undefined,
    getPlan: async (id) => plans.get(id),
    putRepositoryPlan: async (planId, summary) => {
      const repositories = stored.get(planId) ?? new Set();
      stored.set(planId, repositories.add(summary.repository));
      return true;
    },
    storedRepositories: async (planId) => stored.get(planId)?.size ?? 0,
    summaries: async () => [],
    completeScan: async () => true,
    markTasksQueued: async (planId, at) => {
      const plan = plans.get(planId);
      if (plan) plans.set(planId, { ...plan, tasksQueuedAt: at });
    },
  };
  return { store: store as PlanStore, plans, stored };
}

function aPlan(id: string, totalRepositories: number): PlanRecord {
  return { id, createdAt: NOW, status: 'SCANNING', totalRepositories, linkExp: 0, policyHash: 'test' };
}

function fakeRegistry(listing: Record<string, readonly RegistryImage[] | Error>): Registry {
  return {
    label: 'eu-west-1',
    listsEveryManifest: true,
    hosts: async () => [],
    listRepositories: async () => Object.keys(listing),
    listImages: async (repository) => {
      const images = listing[repository];
      if (images === undefined || images instanceof Error) throw images ?? new Error('no such repository');
      return images;
    },
    deleteImages: async () => {
      throw new Error('a scan never deletes');
    },
  };
}

function depsWith(plans: PlanStore, registry: Registry, enqueued: ScanTask[] = []): ScanDeps {
  return {
    registry,
    sightings: {
      recordReport: async () => ({ distinct: 0, written: 0, reported: true }),
      sightingsOf: async () => [],
      clusterReports: async () => [],
      snapshotFor: async () => ({ sightings: [], clusterReports: [] }),
    },
    plans,
    queue: { enqueue: async (tasks) => void enqueued.push(...tasks) },
    notifier: { publish: async () => undefined },
    config: parseScanConfig({}),
    policyHash: 'test',
    linkSecret: async () => 'link-secret',
    hmac: hmacSha256Hex,
    reviewBaseUrl: 'https://janitor.example.com',
    now: () => NOW,
    log: silentLog,
  };
}

const sqsEvent = (...bodies: [messageId: string, body: string][]): SqsEvent => ({
  Records: bodies.map(([messageId, body]) => ({ messageId, body })),
});
const task = (planId: string, repository: string) => JSON.stringify({ planId, repository });

describe('the scan worker (SQS partial batch responses)', () => {
  it('returns only the messages that threw, so that SQS redelivers those and deletes the rest', async () => {
    // Prepare
    const { store, stored } = fakePlans([aPlan('scan-1', 5)]);
    const deps = depsWith(store, fakeRegistry({ web: [], api: [] }));
    const event = sqsEvent(
      ['m1', task('scan-1', 'web')],
      ['m2', task('scan-gone', 'web')],
      ['m3', 'not json'],
      ['m4', JSON.stringify({ planId: 'scan-1' })],
      ['m5', task('scan-1', 'api')],
    );

    // Act
    const response = await handleScanTasks(event, deps);

    // Assess
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }, { itemIdentifier: 'm4' }],
    });
    expect([...(stored.get('scan-1') ?? [])]).toEqual(['web', 'api']);
  });

  it('does not redeliver a repository that cannot be listed: the plan records it as unreadable', async () => {
    // Prepare
    const { store, stored } = fakePlans([aPlan('scan-1', 2)]);
    const deps = depsWith(store, fakeRegistry({ web: new Error('AccessDeniedException') }));

    // Act
    const response = await handleScanTasks(sqsEvent(['m1', task('scan-1', 'web')]), deps);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(stored.get('scan-1')?.has('web')).toBe(true);
  });

  it('answers an empty batch with no failures', async () => {
    const { store } = fakePlans([]);
    await expect(handleScanTasks({}, depsWith(store, fakeRegistry({})))).resolves.toEqual({
      batchItemFailures: [],
    });
  });
});

describe('the scan schedule', () => {
  it('starts one plan per scheduled time and fans out one task per repository', async () => {
    // Prepare
    const { store } = fakePlans([]);
    const enqueued: ScanTask[] = [];
    const deps = depsWith(store, fakeRegistry({ api: [], web: [] }), enqueued);

    // Act
    const first = await handleScheduledScan({ time: '2026-11-22T06:00:00Z' }, deps);
    const redelivered = await handleScheduledScan({ time: '2026-11-22T06:00:00Z' }, deps);

    // Assess
    expect(first).toEqual({ planId: 'scan-20261122T0600Z', started: true, repositories: 2 });
    expect(redelivered).toEqual({ planId: 'scan-20261122T0600Z', started: false, repositories: 0 });
    expect(enqueued).toEqual([
      { planId: 'scan-20261122T0600Z', repository: 'api' },
      { planId: 'scan-20261122T0600Z', repository: 'web' },
    ]);
    expect(JSON.stringify(first)).not.toMatch(/sig=/);
  });

  it('throws when the registry cannot be listed, after recording the failed plan', async () => {
    // Prepare
    const { store, plans } = fakePlans([]);
    const registry = {
      ...fakeRegistry({}),
      listRepositories: async () => Promise.reject(new Error('denied')),
    };

    // Act
    const started = handleScheduledScan({ time: '2026-11-22T18:00:00Z' }, depsWith(store, registry));

    // Assess
    await expect(started).rejects.toThrow(/scan-20261122T1800Z could not list the repositories: denied/);
    expect(plans.get('scan-20261122T1800Z')).toMatchObject({ status: 'FAILED', error: 'denied' });
  });
});

describe('reuseRecent (one reading of ECS and Lambda for the repository tasks of a few minutes)', () => {
  const at = (minutes: number) => new Date(Date.UTC(2026, 10, 22, 6, minutes));

  it('reuses a reading for USAGE_REUSE_MS, in flight or done, then reads again', async () => {
    const reads: Date[] = [];
    const read = reuseRecent(async (now: Date) => {
      reads.push(now);
      return reads.length;
    }, USAGE_REUSE_MS);
    const [first, second] = await Promise.all([read(at(0)), read(at(1))]);
    expect([first, second, await read(at(4))]).toEqual([1, 1, 1]);
    expect(await read(at(5))).toBe(2);
    expect(reads).toEqual([at(0), at(5)]);
  });

  it('does not reuse a reading that failed', async () => {
    let calls = 0;
    const read = reuseRecent(async () => {
      calls += 1;
      if (calls === 1) throw new Error('ThrottlingException');
      return 'usage';
    }, USAGE_REUSE_MS);
    await expect(read(at(0))).rejects.toThrow('ThrottlingException');
    await expect(read(at(1))).resolves.toBe('usage');
    expect(calls).toBe(2);
  });
});
