import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { readAwsUsage } from '../../lambdas/adapters/aws-usage';
import { formatImageReference } from '../../lambdas/core/image-ref';
import { digestOf, NOW } from '../fixtures/builders';
import { type EcsFake, startEcsFake } from '../fixtures/ecs-fake';
import { type EventBridgeFake, startEventBridgeFake } from '../fixtures/eventbridge-fake';
import { type LambdaFake, startLambdaFake } from '../fixtures/lambda-fake';
import { type SchedulerFake, startSchedulerFake } from '../fixtures/scheduler-fake';

/**
 * The `--aws-usage` reader with the real SDK clients (serialisers, error parsing, pagination) over
 * HTTP against the ECS, Lambda, EventBridge and Scheduler fakes, pages of 2 items to make every
 * listing page.
 */
const WEB = '123456789012.dkr.ecr.us-east-1.amazonaws.com/web';
const client = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

let ecsFake: EcsFake;
let lambdaFake: LambdaFake;
let eventsFake: EventBridgeFake;
let schedulerFake: SchedulerFake;
const read = () =>
  readAwsUsage({
    ecs: new ECSClient({ ...client, endpoint: ecsFake.url }),
    lambda: new LambdaClient({ ...client, endpoint: lambdaFake.url }),
    events: new EventBridgeClient({ ...client, endpoint: eventsFake.url }),
    scheduler: new SchedulerClient({ ...client, endpoint: schedulerFake.url }),
    now: NOW,
  });

beforeAll(async () => {
  ecsFake = await startEcsFake({ pageSize: 2 });
  lambdaFake = await startLambdaFake({ pageSize: 2 });
  eventsFake = await startEventBridgeFake({ pageSize: 2 });
  schedulerFake = await startSchedulerFake({ pageSize: 2 });
});
afterAll(async () => {
  await ecsFake.close();
  await lambdaFake.close();
  await eventsFake.close();
  await schedulerFake.close();
});
beforeEach(() => {
  ecsFake.reset();
  lambdaFake.reset();
  eventsFake.reset();
  schedulerFake.reset();
});

describe('readAwsUsage over HTTP against the ECS, Lambda, EventBridge and Scheduler fakes', () => {
  it('pages every listing and reads tasks, services, versions and aliases as the SDK sends them', async () => {
    // Prepare
    const web42 = ecsFake.registerTaskDefinition('web', [`${WEB}:42`]);
    const web43 = ecsFake.registerTaskDefinition('web', [`${WEB}:43`]);
    for (const cluster of ['a', 'b', 'prod'])
      ecsFake.createService({ cluster, name: 'idle', taskDefinition: web42 });
    ecsFake.createService({ cluster: 'prod', name: 'web', taskDefinition: web43, olderDeployments: [web42] });
    for (let i = 0; i < 3; i++) {
      ecsFake.runTask({
        cluster: 'prod',
        taskDefinition: web43,
        containers: [{ name: 'web', image: `${WEB}:t${i}`, imageDigest: digestOf(`t${i}`) }],
      });
    }
    ecsFake.runTask({ cluster: 'prod', taskDefinition: web42, desiredStatus: 'STOPPED' });
    lambdaFake.putFunction({ name: 'cron' });
    lambdaFake.putFunction({ name: 'other' });
    lambdaFake.putFunction({
      name: 'api-handler',
      image: { imageUri: `${WEB}:build-14`, resolvedImageUri: `${WEB}@${digestOf('14')}` },
    });
    for (const version of ['12', '13', '14']) lambdaFake.publishVersion('api-handler', version);
    lambdaFake.putAlias('api-handler', 'live', '14', { '13': 0.1 });
    lambdaFake.putAlias('api-handler', 'beta', '12');
    lambdaFake.putAlias('api-handler', 'old', '12');

    // Act
    const sightings = await read();

    // Assess
    const workloads = new Set(sightings.map((s) => s.workload));
    expect(workloads).toEqual(
      new Set([
        ...['a', 'b', 'prod'].map((c) => `ECS service idle in cluster ${c} (task definition web:1)`),
        'ECS service web in cluster prod (task definition web:2)',
        'ECS service web in cluster prod (task definition web:1)',
        ...[1, 2, 3].map((n) => `running ECS task ${n.toString(16).padStart(32, '0')} in cluster prod`),
        'Lambda function api-handler alias live (version 14)',
        'Lambda function api-handler alias live (version 13)',
        'Lambda function api-handler alias beta (version 12)',
        'Lambda function api-handler alias old (version 12)',
        ...['$LATEST', '12', '13', '14'].map((v) => `Lambda function api-handler version ${v}`),
      ]),
    );
    const refs = sightings.map((s) => formatImageReference(s.ref));
    expect(refs).toEqual(expect.arrayContaining([`${WEB}@${digestOf('t2')}`, `${WEB}@${digestOf('14')}`]));
    const pagesOf = (operation: string) =>
      ecsFake.calls.filter((call) => call.operation === operation).length;
    expect(pagesOf('ListClusters')).toBe(2);
    expect(pagesOf('DescribeTaskDefinition')).toBe(2);
    const lambdaPages = (operation: string) => lambdaFake.calls.filter((c) => c.operation === operation);
    expect(lambdaPages('ListFunctions')).toHaveLength(2);
    expect(lambdaPages('ListAliases')).toHaveLength(2);
    expect(lambdaPages('ListVersionsByFunction')).toHaveLength(2);
    expect(
      lambdaPages('GetFunction')
        .map((c) => c.query.Qualifier)
        .sort(),
    ).toEqual(['$LATEST', '12', '13', '14']);
    expect(ecsFake.calls.every((call) => call.status === 200)).toBe(true);
    expect(lambdaFake.calls.every((call) => call.status === 200)).toBe(true);
  });

  it("parses each protocol's AccessDeniedException into an error naming the permission", async () => {
    ecsFake.runTask({ cluster: 'prod', taskDefinition: ecsFake.registerTaskDefinition('web', [`${WEB}:1`]) });
    lambdaFake.putFunction({ name: 'api', image: { imageUri: `${WEB}@${digestOf('api')}` } });
    ecsFake.denyAccess('DescribeTasks');
    lambdaFake.denyAccess('GetFunction');

    const reading = read();

    await expect(reading).rejects.toThrow(
      /access denied: the credentials lack ecs:DescribeTasks on cluster prod \(User: .* is not authorized to perform: ecs:DescribeTasks/,
    );
    await expect(reading).rejects.toThrow(
      /access denied: the credentials lack lambda:GetFunction on function api version \$LATEST \(User: /,
    );
  });

  it('reads a .zip function not at all and an empty account as no sightings', async () => {
    lambdaFake.putFunction({ name: 'cron' });

    await expect(read()).resolves.toEqual([]);
    expect(lambdaFake.calls.map((call) => call.operation)).toEqual(['ListFunctions']);
  });

  it('pages every bus, rule, target and schedule and reads the task definitions they start', async () => {
    // Prepare
    const report = ecsFake.registerTaskDefinition('report', [`${WEB}:report-1`]);
    ecsFake.registerTaskDefinition('report', [`${WEB}:report-2`]);
    const family = `arn:aws:ecs:us-east-1:123456789012:task-definition/report`;
    for (const name of ['a', 'b', 'nightly-report'])
      eventsFake.putRule({ name, state: name === 'b' ? 'DISABLED' : 'ENABLED' });
    eventsFake.putTargets('nightly-report', [
      { id: 'notify' },
      { id: 'mail' },
      { id: 'run', taskDefinitionArn: family },
    ]);
    eventsFake.putTargets('b', [{ id: 'run', taskDefinitionArn: `${family}:1` }]);
    eventsFake.putRule({ name: 'month-end', bus: 'finance' });
    eventsFake.putTargets('month-end', [{ id: 'run', taskDefinitionArn: `${family}:1` }], 'finance');
    schedulerFake.createSchedule({ name: 'ping' });
    schedulerFake.createSchedule({
      name: 'weekly',
      group: 'jobs',
      taskDefinitionArn: family,
      state: 'DISABLED',
    });
    schedulerFake.createSchedule({ name: 'backfill.v2', taskDefinitionArn: `${family}:1` });

    // Act
    const sightings = await read();

    // Assess
    expect(sightings.map((s) => [s.workload, formatImageReference(s.ref)])).toEqual([
      ['ECS task definition report:1, scheduled by EventBridge rule b (disabled)', `${WEB}:report-1`],
      ['ECS task definition report:2, scheduled by EventBridge rule nightly-report', `${WEB}:report-2`],
      [
        'ECS task definition report:1, scheduled by EventBridge rule month-end on event bus finance',
        `${WEB}:report-1`,
      ],
      [
        'ECS task definition report:2, scheduled by EventBridge Scheduler schedule jobs/weekly (disabled)',
        `${WEB}:report-2`,
      ],
      [
        'ECS task definition report:1, scheduled by EventBridge Scheduler schedule default/backfill.v2',
        `${WEB}:report-1`,
      ],
    ]);
    expect(report).toBe('report:1');
    const eventPages = (operation: string) =>
      eventsFake.calls.filter((c) => c.operation === operation).length;
    expect(eventPages('ListEventBuses')).toBe(1);
    expect(eventPages('ListRules')).toBe(3);
    expect(eventPages('ListTargetsByRule')).toBe(5);
    expect(schedulerFake.calls.filter((c) => c.operation === 'ListSchedules')).toHaveLength(2);
    expect(
      schedulerFake.calls
        .filter((c) => c.operation === 'GetSchedule')
        .map((c) => `${c.query.groupName}/${c.name}`),
    ).toEqual(['default/ping', 'jobs/weekly', 'default/backfill.v2']);
    expect([...eventsFake.calls, ...schedulerFake.calls].every((call) => call.status === 200)).toBe(true);
  });

  it.each([
    ['events:ListTargetsByRule on rule nightly-report', () => eventsFake.denyAccess('ListTargetsByRule')],
    ['scheduler:GetSchedule on schedule default/nightly', () => schedulerFake.denyAccess('GetSchedule')],
  ])('parses the AccessDeniedException into an error naming %s', async (permission, deny) => {
    eventsFake.putRule({ name: 'nightly-report' });
    schedulerFake.createSchedule({ name: 'nightly' });
    deny();

    await expect(read()).rejects.toThrow(`access denied: the credentials lack ${permission} (User: `);
  });
});
