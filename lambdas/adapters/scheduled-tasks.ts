import {
  type EventBridgeClient,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  type Rule,
} from '@aws-sdk/client-eventbridge';
import {
  GetScheduleCommand,
  ListSchedulesCommand,
  type SchedulerClient,
  type ScheduleSummary,
} from '@aws-sdk/client-scheduler';
import { AwsUsageCalls, isAwsError, settleAll } from './aws-usage-calls';
import { AwsUsageReadError } from './errors';

/** EventBridge and EventBridge Scheduler answer at most 100 items a page. */
const LIST_PAGE = 100;
/** A bus, rule or schedule deleted since it was listed schedules nothing any more. */
const GONE = ['ResourceNotFoundException'];
const DEFAULT_BUS = 'default';

/** An ECS task that a rule or a schedule starts. */
export interface ScheduledTask {
  /**
   * The target's `TaskDefinitionArn`: a task definition ARN with its revision, or a family ARN
   * without one (ECS runs the latest ACTIVE revision of the family).
   */
  readonly taskDefinition: string;
  /** e.g. `EventBridge rule nightly-report`, `EventBridge Scheduler schedule default/nightly (disabled)`. */
  readonly scheduledBy: string;
}

export interface ScheduledTasksOptions {
  readonly events: EventBridgeClient;
  readonly scheduler: SchedulerClient;
  /** Requests in flight at once, per service. @default 4 */
  readonly concurrency?: number;
}

/**
 * Every ECS task that EventBridge starts in the clients' account and region: the ECS targets
 * (`EcsParameters.TaskDefinitionArn`) of every rule on every event bus, and of every EventBridge
 * Scheduler schedule in every schedule group (there also the universal target
 * `aws-sdk:ecs:runTask`, whose `Input` names the task definition). Disabled rules and schedules count too: they can be
 * enabled again, and the image their task runs must still be there then. Targets that are not
 * ECS tasks are left out; a bus, rule or schedule deleted while it was read is skipped.
 */
export async function readScheduledTasks(options: ScheduledTasksOptions): Promise<ScheduledTask[]> {
  const [byRules, bySchedules] = await settleAll([ruleTasks(options), scheduleTasks(options)]);
  return [...(byRules ?? []), ...(bySchedules ?? [])];
}

async function ruleTasks({ events, concurrency }: ScheduledTasksOptions): Promise<ScheduledTask[]> {
  const calls = new AwsUsageCalls('events', concurrency);
  const buses = await calls.listAll(
    'ListEventBuses',
    undefined,
    (NextToken) => events.send(new ListEventBusesCommand({ Limit: LIST_PAGE, NextToken })),
    (page) => ({ items: page.EventBuses, next: page.NextToken }),
  );
  const perBus = await settleAll(
    buses.map(async (bus) => {
      if (!bus.Name) throw new AwsUsageReadError('events:ListEventBuses listed an event bus without a name');
      const busName = bus.Name;
      const rules = await unlessGone(() =>
        calls.listAll(
          'ListRules',
          `event bus ${busName}`,
          (NextToken) =>
            events.send(new ListRulesCommand({ EventBusName: busName, Limit: LIST_PAGE, NextToken })),
          (page) => ({ items: page.Rules, next: page.NextToken }),
        ),
      );
      const perRule = await settleAll((rules ?? []).map((rule) => ruleTargets(events, calls, busName, rule)));
      return perRule.flat();
    }),
  );
  return perBus.flat();
}

async function ruleTargets(
  events: EventBridgeClient,
  calls: AwsUsageCalls,
  busName: string,
  rule: Rule,
): Promise<ScheduledTask[]> {
  if (!rule.Name) {
    throw new AwsUsageReadError(`events:ListRules listed a rule without a name on event bus ${busName}`);
  }
  const name = rule.Name;
  const on = busName === DEFAULT_BUS ? '' : ` on event bus ${busName}`;
  const scheduledBy = `EventBridge rule ${name}${on}${rule.State === 'DISABLED' ? ' (disabled)' : ''}`;
  const targets = await unlessGone(() =>
    calls.listAll(
      'ListTargetsByRule',
      `rule ${name}${on}`,
      (NextToken) =>
        events.send(
          new ListTargetsByRuleCommand({ Rule: name, EventBusName: busName, Limit: LIST_PAGE, NextToken }),
        ),
      (page) => ({ items: page.Targets, next: page.NextToken }),
    ),
  );
  return (targets ?? []).flatMap((target) => {
    const taskDefinition = target.EcsParameters?.TaskDefinitionArn;
    return taskDefinition ? [{ taskDefinition, scheduledBy }] : [];
  });
}

async function scheduleTasks({ scheduler, concurrency }: ScheduledTasksOptions): Promise<ScheduledTask[]> {
  const calls = new AwsUsageCalls('scheduler', concurrency);
  const schedules = await calls.listAll(
    'ListSchedules',
    undefined,
    (NextToken) => scheduler.send(new ListSchedulesCommand({ MaxResults: LIST_PAGE, NextToken })),
    (page) => ({ items: page.Schedules, next: page.NextToken }),
  );
  const perSchedule = await settleAll(schedules.map((summary) => scheduleTask(scheduler, calls, summary)));
  return perSchedule.flatMap((task) => (task ? [task] : []));
}

/** The ECS task of one schedule, read with GetSchedule: the summary does not carry the target's parameters. */
async function scheduleTask(
  scheduler: SchedulerClient,
  calls: AwsUsageCalls,
  summary: ScheduleSummary,
): Promise<ScheduledTask | undefined> {
  if (!summary.Name || !summary.GroupName) {
    throw new AwsUsageReadError(
      `scheduler:ListSchedules listed a schedule without its name or group (${summary.Arn ?? 'no ARN'})`,
    );
  }
  const { Name, GroupName } = summary;
  const schedule = await unlessGone(() =>
    calls.call('GetSchedule', `schedule ${GroupName}/${Name}`, () =>
      scheduler.send(new GetScheduleCommand({ Name, GroupName })),
    ),
  );
  if (!schedule?.Target) return undefined;
  const taskDefinition =
    schedule.Target.EcsParameters?.TaskDefinitionArn ??
    universalTaskDefinition(schedule.Target, `${GroupName}/${Name}`);
  if (!taskDefinition) return undefined;
  const disabled = schedule.State === 'DISABLED' ? ' (disabled)' : '';
  return { taskDefinition, scheduledBy: `EventBridge Scheduler schedule ${GroupName}/${Name}${disabled}` };
}

/** A schedule's universal target that starts an ECS task: `arn:aws:scheduler:::aws-sdk:ecs:runTask`. */
const UNIVERSAL_ECS_TASK = /^arn:[a-z-]+:scheduler:::aws-sdk:ecs:(?:runTask|startTask)$/i;

/**
 * The task definition a schedule's universal ECS target starts, from the request it sends as its
 * `Input` (RunTask's `taskDefinition`); undefined for any other target. A universal ECS target
 * whose `Input` names none fails the reading: its task could run any image.
 */
function universalTaskDefinition(
  target: { readonly Arn?: string | undefined; readonly Input?: string | undefined },
  schedule: string,
): string | undefined {
  if (!target.Arn || !UNIVERSAL_ECS_TASK.test(target.Arn)) return undefined;
  let input: unknown;
  try {
    input = JSON.parse(target.Input ?? '');
  } catch {
    input = undefined;
  }
  const request = (input ?? {}) as { taskDefinition?: unknown; TaskDefinition?: unknown };
  const named = request.taskDefinition ?? request.TaskDefinition;
  if (typeof named !== 'string' || named === '') {
    throw new AwsUsageReadError(
      `EventBridge Scheduler schedule ${schedule} starts an ECS task through ${target.Arn}, but its Input names no taskDefinition`,
    );
  }
  return named;
}

async function unlessGone<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isAwsError(error, GONE)) return undefined;
    throw error;
  }
}
