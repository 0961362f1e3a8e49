import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, ListEventBusesCommand } from '@aws-sdk/client-eventbridge';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrRegistry } from '../../lambdas/adapters/ecr-registry';
import { UsageError } from '../../lambdas/core/errors';
import type { Registry } from '../../lambdas/core/ports';
import { usageFromFlags } from '../../lambdas/handlers/gc-usage';

const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const events = mockClient(EventBridgeClient);
const scheduler = mockClient(SchedulerClient);
const ecr = (region: string) => new EcrRegistry({ client: new ECRClient({ region }), region });
const ociRegistry: Registry = {
  label: 'registry.example.com',
  listsEveryManifest: false,
  hosts: async () => ['registry.example.com'],
  listRepositories: async () => [],
  listImages: async () => [],
  deleteImages: async () => [],
};

beforeEach(() => {
  ecs.reset();
  lambda.reset();
  events.reset();
  scheduler.reset();
});

describe('usageFromFlags', () => {
  it('adds nothing without --aws-usage', () => {
    expect(usageFromFlags({ repo: ['web'] }, ecr('eu-west-1'), {})).toBeUndefined();
  });

  it('refuses --aws-usage on an OCI registry as bad usage (exit 2), before anything is read', () => {
    const flags = { awsUsage: true, registry: 'http://127.0.0.1:5000' };

    expect(() => usageFromFlags(flags, ociRegistry, {})).toThrow(UsageError);
    expect(() => usageFromFlags(flags, ociRegistry, {})).toThrow('--aws-usage applies to ECR only');
    expect(ecs.calls()).toHaveLength(0);
  });

  it("reads ECS, Lambda, EventBridge and EventBridge Scheduler in the ECR registry's region", async () => {
    // Prepare
    ecs.on(ListClustersCommand).resolves({ clusterArns: [] });
    lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
    events.on(ListEventBusesCommand).resolves({ EventBuses: [] });
    scheduler.on(ListSchedulesCommand).resolves({ Schedules: [] });
    const usage = usageFromFlags({ awsUsage: true, repo: ['web'] }, ecr('eu-west-1'), {});

    // Act
    const sightings = await usage?.(new Date());

    // Assess
    expect(sightings).toEqual([]);
    const ecsClient = ecs.call(0).thisValue as ECSClient;
    const lambdaClient = lambda.call(0).thisValue as LambdaClient;
    const eventsClient = events.call(0).thisValue as EventBridgeClient;
    const schedulerClient = scheduler.call(0).thisValue as SchedulerClient;
    await expect(ecsClient.config.region()).resolves.toBe('eu-west-1');
    await expect(lambdaClient.config.region()).resolves.toBe('eu-west-1');
    await expect(eventsClient.config.region()).resolves.toBe('eu-west-1');
    await expect(schedulerClient.config.region()).resolves.toBe('eu-west-1');
  });
});
