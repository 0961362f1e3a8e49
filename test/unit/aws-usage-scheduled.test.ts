import {
  AccessDeniedException,
  ClientException,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
} from '@aws-sdk/client-ecs';
import {
  EventBridgeClient,
  AccessDeniedException as EventsAccessDenied,
  ResourceNotFoundException as EventsNotFound,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  type Rule,
  type Target,
  ThrottlingException,
} from '@aws-sdk/client-eventbridge';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ListSchedulesCommand,
  ResourceNotFoundException as ScheduleNotFound,
  SchedulerClient,
  SchedulerServiceException,
  type ScheduleSummary,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsUsageReadError } from '../../lambdas/adapters/errors';
import {
  accessDeniedMessage,
  describeTaskDefinition,
  ECR_HOST,
  readUsage,
  seenAs,
  taskDefinitionArn,
} from '../fixtures/aws-usage-responses';
import { NOW } from '../fixtures/builders';
import {
  ecsTarget,
  eventBus,
  familyArn,
  getSchedule,
  lambdaTarget,
  rule,
  scheduleSummary,
} from '../fixtures/schedule-responses';

const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const events = mockClient(EventBridgeClient);
const scheduler = mockClient(SchedulerClient);
const read = readUsage;
const WEB = `${ECR_HOST}/web`;
const seen = seenAs;
const lastSegment = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

/**
 * One item a page, the token the index of the next item: every listing of more than one item
 * takes more than one page.
 */
function onePerPage<T>(items: readonly T[], token: string | undefined): { items: T[]; next?: string } {
  const at = token === undefined ? 0 : Number(token);
  return { items: items.slice(at, at + 1), ...(at + 1 < items.length ? { next: String(at + 1) } : {}) };
}

/** What the EventBridge, Scheduler and ECS mocks answer; ECS and Lambda run nothing else. */
interface ScheduleWorld {
  /** Event bus → its rules. */
  readonly buses?: Record<string, Rule[]>;
  /** Rule name → its targets. */
  readonly targets?: Record<string, Target[]>;
  readonly schedules?: readonly { summary: ScheduleSummary; schedule: GetScheduleCommandOutput }[];
  /** Family → its latest ACTIVE `family:revision`. */
  readonly latest?: Record<string, string>;
}

function given(world: ScheduleWorld): void {
  ecs.on(ListClustersCommand).resolves({ clusterArns: [] });
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const named = lastSegment(input.taskDefinition);
    const label = named.includes(':') ? named : (world.latest?.[named] ?? `${named}:1`);
    return describeTaskDefinition(label, [`${WEB}:${label.replace(':', '-')}`]);
  });
  lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
  const buses = Object.keys(world.buses ?? {}).map(eventBus);
  events.on(ListEventBusesCommand).callsFake((input: { NextToken?: string }) => {
    const page = onePerPage(buses, input.NextToken);
    return { EventBuses: page.items, NextToken: page.next };
  });
  events.on(ListRulesCommand).callsFake((input: { EventBusName: string; NextToken?: string }) => {
    const page = onePerPage(world.buses?.[input.EventBusName] ?? [], input.NextToken);
    return { Rules: page.items, NextToken: page.next };
  });
  events.on(ListTargetsByRuleCommand).callsFake((input: { Rule: string; NextToken?: string }) => {
    const page = onePerPage(world.targets?.[input.Rule] ?? [], input.NextToken);
    return { Targets: page.items, NextToken: page.next };
  });
  const schedules = world.schedules ?? [];
  scheduler.on(ListSchedulesCommand).callsFake((input: { NextToken?: string }) => {
    const page = onePerPage(
      schedules.map((s) => s.summary),
      input.NextToken,
    );
    return { Schedules: page.items, NextToken: page.next };
  });
  scheduler.on(GetScheduleCommand).callsFake((input: { Name: string; GroupName: string }) => {
    const found = schedules.find(
      (s) => s.summary.Name === input.Name && s.summary.GroupName === input.GroupName,
    );
    if (!found)
      throw new ScheduleNotFound({
        Message: `Schedule ${input.Name} does not exist.`,
        message: `Schedule ${input.Name} does not exist.`,
        $metadata: { httpStatusCode: 404 },
      });
    return found.schedule;
  });
}

/** A schedule of `group` that runs `taskDefinition` (none: invokes a Lambda function). */
const schedule = (
  group: string,
  name: string,
  taskDefinition?: string,
  state: ScheduleSummary['State'] = 'ENABLED',
) => ({
  summary: scheduleSummary(group, name, state),
  schedule: getSchedule(group, name, taskDefinition, state),
});

beforeEach(() => {
  for (const mock of [ecs, lambda, events, scheduler]) mock.reset();
  given({});
});

describe('readAwsUsage on the ECS tasks that EventBridge starts', () => {
  it('reads every ECS target of every rule on every event bus, page after page', async () => {
    // Prepare
    given({
      buses: {
        default: [rule('nightly-report'), rule('weekly-export')],
        jobs: [rule('monthly-close', 'jobs')],
      },
      targets: {
        'nightly-report': [lambdaTarget('notify'), ecsTarget('run', taskDefinitionArn('report:7'))],
        'weekly-export': [ecsTarget('run', taskDefinitionArn('export:3'))],
        'monthly-close': [ecsTarget('run', taskDefinitionArn('close:12'))],
      },
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      ['ECS task definition report:7, scheduled by EventBridge rule nightly-report', `${WEB}:report-7`],
      ['ECS task definition export:3, scheduled by EventBridge rule weekly-export', `${WEB}:export-3`],
      [
        'ECS task definition close:12, scheduled by EventBridge rule monthly-close on event bus jobs',
        `${WEB}:close-12`,
      ],
    ]);
    expect(sightings.every((s) => s.cluster === 'aws:ecs' && s.observedAt === NOW)).toBe(true);
    expect(events.commandCalls(ListEventBusesCommand).map((c) => c.args[0].input.NextToken)).toEqual([
      undefined,
      '1',
    ]);
    expect(events.commandCalls(ListRulesCommand).map((c) => c.args[0].input)).toEqual([
      { EventBusName: 'default', Limit: 100, NextToken: undefined },
      { EventBusName: 'jobs', Limit: 100, NextToken: undefined },
      { EventBusName: 'default', Limit: 100, NextToken: '1' },
    ]);
    const targetPages = events.commandCalls(ListTargetsByRuleCommand).map((c) => c.args[0].input);
    expect(targetPages.filter((input) => input.Rule === 'nightly-report').map((i) => i.NextToken)).toEqual([
      undefined,
      '1',
    ]);
  });

  it('reads every schedule of every group with GetSchedule, page after page', async () => {
    // Prepare
    given({
      schedules: [
        schedule('default', 'nightly', taskDefinitionArn('report:7')),
        schedule('finance', 'month-end', taskDefinitionArn('close:12')),
        schedule('default', 'ping'),
      ],
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      [
        'ECS task definition report:7, scheduled by EventBridge Scheduler schedule default/nightly',
        `${WEB}:report-7`,
      ],
      [
        'ECS task definition close:12, scheduled by EventBridge Scheduler schedule finance/month-end',
        `${WEB}:close-12`,
      ],
    ]);
    expect(scheduler.commandCalls(ListSchedulesCommand).map((c) => c.args[0].input)).toEqual([
      { MaxResults: 100, NextToken: undefined },
      { MaxResults: 100, NextToken: '1' },
      { MaxResults: 100, NextToken: '2' },
    ]);
    expect(scheduler.commandCalls(GetScheduleCommand).map((c) => c.args[0].input)).toEqual([
      { Name: 'nightly', GroupName: 'default' },
      { Name: 'month-end', GroupName: 'finance' },
      { Name: 'ping', GroupName: 'default' },
    ]);
  });

  it('counts disabled rules and schedules too, and says they are disabled', async () => {
    given({
      buses: { default: [rule('quarterly', 'default', 'DISABLED')] },
      targets: { quarterly: [ecsTarget('run', taskDefinitionArn('audit:2'))] },
      schedules: [schedule('default', 'yearly', taskDefinitionArn('archive:5'), 'DISABLED')],
    });

    const sightings = await read();

    expect(seen(sightings)).toEqual([
      ['ECS task definition audit:2, scheduled by EventBridge rule quarterly (disabled)', `${WEB}:audit-2`],
      [
        'ECS task definition archive:5, scheduled by EventBridge Scheduler schedule default/yearly (disabled)',
        `${WEB}:archive-5`,
      ],
    ]);
  });

  it('resolves a family ARN to its latest ACTIVE revision and uses a revision ARN as it is, each described once', async () => {
    // Prepare
    given({
      buses: { default: [rule('nightly-report'), rule('rerun-7')] },
      targets: {
        'nightly-report': [ecsTarget('run', familyArn('report'))],
        'rerun-7': [ecsTarget('run', taskDefinitionArn('report:7'))],
      },
      schedules: [schedule('default', 'nightly', familyArn('report'))],
      latest: { report: 'report:9' },
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      ['ECS task definition report:9, scheduled by EventBridge rule nightly-report', `${WEB}:report-9`],
      ['ECS task definition report:7, scheduled by EventBridge rule rerun-7', `${WEB}:report-7`],
      [
        'ECS task definition report:9, scheduled by EventBridge Scheduler schedule default/nightly',
        `${WEB}:report-9`,
      ],
    ]);
    const described = ecs
      .commandCalls(DescribeTaskDefinitionCommand)
      .map((c) => c.args[0].input.taskDefinition);
    expect(described.sort()).toEqual([familyArn('report'), taskDefinitionArn('report:7')]);
  });

  it('leaves out targets that are not ECS tasks without describing anything', async () => {
    given({
      buses: { default: [rule('notify')] },
      targets: { notify: [lambdaTarget('a'), lambdaTarget('b')] },
      schedules: [schedule('default', 'ping')],
    });

    await expect(read()).resolves.toEqual([]);
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(0);
  });

  it('reads the task definition of a schedule that starts its task through the universal target aws-sdk:ecs:runTask', async () => {
    // Prepare: no EcsParameters; the RunTask request is the target's Input.
    const universal = schedule('default', 'weekly');
    const withInput = (input: string | undefined) => ({
      summary: universal.summary,
      schedule: {
        ...universal.schedule,
        Target: {
          Arn: 'arn:aws:scheduler:::aws-sdk:ecs:runTask',
          RoleArn: 'arn:aws:iam::012345678910:role/scheduler',
          ...(input === undefined ? {} : { Input: input }),
        },
      },
    });
    given({
      schedules: [withInput('{"cluster":"jobs","taskDefinition":"report:7","launchType":"FARGATE"}')],
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      [
        'ECS task definition report:7, scheduled by EventBridge Scheduler schedule default/weekly',
        `${WEB}:report-7`,
      ],
    ]);
    for (const input of [undefined, '{"cluster":"jobs"}', 'not json']) {
      given({ schedules: [withInput(input)] });
      await expect(read()).rejects.toThrow(
        'EventBridge Scheduler schedule default/weekly starts an ECS task through arn:aws:scheduler:::aws-sdk:ecs:runTask, but its Input names no taskDefinition',
      );
    }
  });

  it('skips a scheduled task definition ECS can no longer describe (deleted): no run can start from it', async () => {
    // Prepare: a forgotten disabled rule still names backfill:3, deleted since.
    given({
      buses: { default: [rule('old-backfill', 'default', 'DISABLED'), rule('nightly-report')] },
      targets: {
        'old-backfill': [ecsTarget('1', taskDefinitionArn('backfill:3'))],
        'nightly-report': [ecsTarget('1', taskDefinitionArn('report:7'))],
      },
    });
    ecs
      .on(DescribeTaskDefinitionCommand, { taskDefinition: taskDefinitionArn('backfill:3') })
      .rejects(new ClientException({ message: 'Unable to describe task definition.', $metadata: {} }));

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      ['ECS task definition report:7, scheduled by EventBridge rule nightly-report', `${WEB}:report-7`],
    ]);
    // Any other refusal still fails the reading.
    ecs
      .on(DescribeTaskDefinitionCommand, { taskDefinition: taskDefinitionArn('backfill:3') })
      .rejects(new ClientException({ message: 'Rate exceeded somewhere', $metadata: {} }));
    await expect(read()).rejects.toThrow('scheduled by EventBridge rule old-backfill (disabled)');
  });

  it('skips an event bus, a rule or a schedule deleted while it was read', async () => {
    // Prepare
    given({
      buses: { default: [rule('gone'), rule('nightly-report')], retired: [] },
      targets: { 'nightly-report': [ecsTarget('run', taskDefinitionArn('report:7'))] },
      schedules: [schedule('default', 'weekly', taskDefinitionArn('export:3'))],
    });
    const notFound = (what: string) =>
      new EventsNotFound({ message: `${what} does not exist.`, $metadata: {} });
    events.on(ListRulesCommand, { EventBusName: 'retired' }).rejects(notFound('Event bus retired'));
    events.on(ListTargetsByRuleCommand, { Rule: 'gone' }).rejects(notFound('Rule gone'));
    scheduler.on(ListSchedulesCommand).resolves({
      Schedules: [scheduleSummary('default', 'deleted'), scheduleSummary('default', 'weekly')],
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings).map(([workload]) => workload)).toEqual([
      'ECS task definition report:7, scheduled by EventBridge rule nightly-report',
      'ECS task definition export:3, scheduled by EventBridge Scheduler schedule default/weekly',
    ]);
  });
});

describe('readAwsUsage when EventBridge or EventBridge Scheduler cannot be read', () => {
  const eventsDenied = (action: string) =>
    new EventsAccessDenied({ message: accessDeniedMessage(action), $metadata: { httpStatusCode: 400 } });
  const schedulerDenied = (action: string) =>
    new SchedulerServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      message: accessDeniedMessage(action),
      $metadata: { httpStatusCode: 403 },
    });
  const world = () =>
    given({
      buses: { default: [rule('nightly-report')] },
      targets: { 'nightly-report': [ecsTarget('run', familyArn('report'))] },
      schedules: [schedule('default', 'nightly', taskDefinitionArn('report:7'))],
    });

  it.each([
    [
      'events:ListEventBuses',
      () => events.on(ListEventBusesCommand).rejects(eventsDenied('events:ListEventBuses')),
    ],
    [
      'events:ListRules on event bus default',
      () => events.on(ListRulesCommand).rejects(eventsDenied('events:ListRules')),
    ],
    [
      'events:ListTargetsByRule on rule nightly-report',
      () => events.on(ListTargetsByRuleCommand).rejects(eventsDenied('events:ListTargetsByRule')),
    ],
    [
      'scheduler:ListSchedules',
      () => scheduler.on(ListSchedulesCommand).rejects(schedulerDenied('scheduler:ListSchedules')),
    ],
    [
      'scheduler:GetSchedule on schedule default/nightly',
      () => scheduler.on(GetScheduleCommand).rejects(schedulerDenied('scheduler:GetSchedule')),
    ],
    [
      'ecs:DescribeTaskDefinition on task definition report',
      () =>
        ecs.on(DescribeTaskDefinitionCommand).rejects(
          new AccessDeniedException({
            message: accessDeniedMessage('ecs:DescribeTaskDefinition'),
            $metadata: {},
          }),
        ),
    ],
  ])('names the missing permission when access is denied: %s', async (permission, deny) => {
    // Prepare
    world();
    deny();

    // Act
    const reading = read();

    // Assess
    await expect(reading).rejects.toBeInstanceOf(AwsUsageReadError);
    await expect(reading).rejects.toThrow(`access denied: the credentials lack ${permission}`);
  });

  it('names every missing permission when ECS, EventBridge and Scheduler all refuse', async () => {
    world();
    ecs
      .on(ListClustersCommand)
      .rejects(
        new AccessDeniedException({ message: accessDeniedMessage('ecs:ListClusters'), $metadata: {} }),
      );
    events.on(ListEventBusesCommand).rejects(eventsDenied('events:ListEventBuses'));
    scheduler.on(ListSchedulesCommand).rejects(schedulerDenied('scheduler:ListSchedules'));

    const reading = read();

    await expect(reading).rejects.toThrow(
      /lack ecs:ListClusters .*lack events:ListEventBuses .*lack scheduler:ListSchedules/,
    );
  });

  it('names the rule whose task definition cannot be described', async () => {
    world();
    ecs
      .on(DescribeTaskDefinitionCommand, { taskDefinition: familyArn('report') })
      .rejects(new AccessDeniedException({ message: 'denied', $metadata: {} }));

    await expect(read()).rejects.toThrow(
      `(the task definition ${familyArn('report')} scheduled by EventBridge rule nightly-report)`,
    );
  });

  it('fails when throttling outlasts the retries', async () => {
    world();
    events
      .on(ListTargetsByRuleCommand)
      .rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));

    await expect(read()).rejects.toThrow(
      'events:ListTargetsByRule on rule nightly-report failed: ThrottlingException: Rate exceeded',
    );
  });

  it('fails when a schedule listing hands back a page token it already gave', async () => {
    world();
    scheduler.on(ListSchedulesCommand).resolves({ Schedules: [], NextToken: 'again' });

    await expect(read()).rejects.toThrow('scheduler:ListSchedules answered the same page token twice');
  });
});
