import {
  AccessDeniedException,
  ClusterNotFoundException,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListClustersCommand,
  ListServicesCommand,
  ListTasksCommand,
  type Service,
  type ServiceRevision,
  type Task,
} from '@aws-sdk/client-ecs';
import { EventBridgeClient, ListEventBusesCommand } from '@aws-sdk/client-eventbridge';
import {
  type AliasConfiguration,
  type FunctionConfiguration,
  GetFunctionCommand,
  LambdaClient,
  LambdaServiceException,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsUsageReadError } from '../../lambdas/adapters/errors';
import {
  accessDeniedMessage,
  alias,
  clusterArn,
  container,
  deployment,
  describeServiceRevisions,
  describeServices,
  describeTaskDefinition,
  describeTasks,
  ECR_HOST,
  getImageFunction,
  imageFunction,
  REGION,
  readUsage,
  seenAs,
  service,
  serviceArn,
  serviceRevision,
  serviceRevisionArn,
  task,
  taskArn,
  taskDefinitionArn,
  taskId,
  zipFunction,
} from '../fixtures/aws-usage-responses';
import { digestOf, NOW } from '../fixtures/builders';

const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
/** No EventBridge rule or schedule here (see aws-usage-scheduled.test.ts). */
const events = mockClient(EventBridgeClient);
const scheduler = mockClient(SchedulerClient);
const read = readUsage;
const seen = seenAs;
const lastSegment = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
const WEB = `${ECR_HOST}/web`;

/** What the ECS mock answers: clusters with their services and running tasks, and task definitions. */
interface EcsWorld {
  readonly clusters: Record<string, { services?: Service[]; tasks?: Task[] }>;
  readonly taskDefinitions?: Record<string, string[]>;
  readonly revisions?: readonly ServiceRevision[];
}

function givenEcs(world: EcsWorld): void {
  const cluster = (input: { cluster: string }) => world.clusters[lastSegment(input.cluster)] ?? {};
  ecs.on(ListClustersCommand).resolves({ clusterArns: Object.keys(world.clusters).map(clusterArn) });
  ecs.on(ListServicesCommand).callsFake((input) => ({
    serviceArns: (cluster(input).services ?? []).map((s) => s.serviceArn),
  }));
  ecs.on(ListTasksCommand).callsFake((input) => ({
    taskArns: (cluster(input).tasks ?? []).map((t) => t.taskArn),
  }));
  ecs
    .on(DescribeServicesCommand)
    .callsFake((input: { cluster: string; services: string[] }) =>
      describeServices((cluster(input).services ?? []).filter((s) => input.services.includes(s.serviceArn!))),
    );
  ecs
    .on(DescribeTasksCommand)
    .callsFake((input: { cluster: string; tasks: string[] }) =>
      describeTasks((cluster(input).tasks ?? []).filter((t) => input.tasks.includes(t.taskArn!))),
    );
  ecs
    .on(DescribeServiceRevisionsCommand)
    .callsFake((input: { serviceRevisionArns: string[] }) =>
      describeServiceRevisions(
        (world.revisions ?? []).filter((revision) =>
          input.serviceRevisionArns.includes(revision.serviceRevisionArn!),
        ),
      ),
    );
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const label = lastSegment(input.taskDefinition);
    return describeTaskDefinition(
      label,
      world.taskDefinitions?.[label] ?? [`${WEB}:${label.replace(':', '-')}`],
    );
  });
}

/** What the Lambda mock answers: functions, their versions, aliases, and each version's code. */
interface LambdaWorld {
  readonly functions: FunctionConfiguration[];
  readonly versions?: Record<string, string[]>;
  readonly aliases?: Record<string, AliasConfiguration[]>;
  /** By `function:version`; default: `web:<function>-<version>` and its digest. */
  readonly code?: Record<string, { imageUri?: string; resolvedImageUri?: string }>;
}

function givenLambda(world: LambdaWorld): void {
  lambda.on(ListFunctionsCommand).resolves({ Functions: world.functions });
  lambda.on(ListVersionsByFunctionCommand).callsFake((input: { FunctionName: string }) => ({
    Versions: ['$LATEST', ...(world.versions?.[input.FunctionName] ?? [])].map((version) =>
      imageFunction(input.FunctionName, version),
    ),
  }));
  lambda.on(ListAliasesCommand).callsFake((input: { FunctionName: string }) => ({
    Aliases: world.aliases?.[input.FunctionName] ?? [],
  }));
  lambda.on(GetFunctionCommand).callsFake((input: { FunctionName: string; Qualifier: string }) => {
    const key = `${input.FunctionName}:${input.Qualifier}`;
    const code = world.code?.[key] ?? {
      imageUri: `${WEB}:${input.FunctionName}-${input.Qualifier.replace('$', '')}`,
      resolvedImageUri: `${WEB}@${digestOf(key)}`,
    };
    return getImageFunction(input.FunctionName, input.Qualifier, code);
  });
}

beforeEach(() => {
  ecs.reset();
  lambda.reset();
  events.reset().on(ListEventBusesCommand).resolves({ EventBuses: [] });
  scheduler.reset().on(ListSchedulesCommand).resolves({ Schedules: [] });
  givenEcs({ clusters: {} });
  givenLambda({ functions: [] });
});

describe('readAwsUsage on ECS', () => {
  it('reports each container of a running task as a tag sighting and a digest sighting, observed now', async () => {
    // Prepare
    const id = taskId('0a1b2c');
    const digest = digestOf('web-1.4');
    givenEcs({ clusters: { prod: { tasks: [task('prod', id, [container('web', `${WEB}:1.4`, digest)])] } } });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      [`running ECS task ${id} in cluster prod`, `${WEB}:1.4`],
      [`running ECS task ${id} in cluster prod`, `${WEB}@${digest}`],
    ]);
    expect(sightings.every((s) => s.cluster === 'aws:ecs' && s.observedAt === NOW)).toBe(true);
    expect(ecs.commandCalls(ListTasksCommand)[0]?.args[0].input).toMatchObject({ desiredStatus: 'RUNNING' });
  });

  it('reports a tag sighting only for a container that has not resolved its digest yet', async () => {
    const id = taskId('0b');
    givenEcs({ clusters: { prod: { tasks: [task('prod', id, [container('web', 'nginx:1.27')])] } } });

    const sightings = await read();

    expect(seen(sightings)).toEqual([
      [`running ECS task ${id} in cluster prod`, 'docker.io/library/nginx:1.27'],
    ]);
  });

  it('reads the task definition of a running task whose containers do not say their images', async () => {
    const id = taskId('0c');
    givenEcs({
      clusters: {
        prod: { tasks: [{ ...task('prod', id, []), taskDefinitionArn: taskDefinitionArn('batch:3') }] },
      },
      taskDefinitions: { 'batch:3': [`${WEB}:batch`] },
    });

    const sightings = await read();

    expect(seen(sightings)).toEqual([
      [`running ECS task ${id} in cluster prod (task definition batch:3)`, `${WEB}:batch`],
    ]);
  });

  it("keeps the task definitions of a service's older deployment still rolling out, not only the new one", async () => {
    // Prepare
    const web = service('prod', 'web', 'web:43', {
      deployments: [deployment('PRIMARY', 'web:43'), deployment('ACTIVE', 'web:42', 'COMPLETED')],
    });
    givenEcs({
      clusters: { prod: { services: [web] } },
      taskDefinitions: {
        'web:43': [`${WEB}:1.5`, 'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0'],
        'web:42': [`${WEB}:1.4`],
      },
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      ['ECS service web in cluster prod (task definition web:43)', `${WEB}:1.5`],
      [
        'ECS service web in cluster prod (task definition web:43)',
        'public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0',
      ],
      ['ECS service web in cluster prod (task definition web:42)', `${WEB}:1.4`],
    ]);
  });

  it('keeps the digest a service revision resolved its tag to, for a service scaled to zero whose tag moved on', async () => {
    // Prepare: web:prod now names another image; ECS starts web's next task from the digest.
    const web = service('prod', 'web', 'web:42', {
      desiredCount: 0,
      runningCount: 0,
      currentServiceRevisions: [
        { arn: serviceRevisionArn('prod', 'web', '4815162342'), requestedTaskCount: 0, runningTaskCount: 0 },
      ],
    });
    const resolved = digestOf('web-prod-when-deployed');
    givenEcs({
      clusters: { prod: { services: [web] } },
      taskDefinitions: { 'web:42': [`${WEB}:prod`] },
      revisions: [
        serviceRevision('prod', 'web', '4815162342', 'web:42', [
          { image: `${WEB}:prod`, imageDigest: resolved },
        ]),
      ],
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      ['ECS service web in cluster prod (task definition web:42)', `${WEB}:prod`],
      ['ECS service web in cluster prod (service revision 4815162342)', `${WEB}:prod`],
      ['ECS service web in cluster prod (service revision 4815162342)', `${WEB}@${resolved}`],
    ]);
  });

  it('describes service revisions 20 at a time, and reads on past one that is gone', async () => {
    // Prepare: 25 services of one revision each; the first revision is gone (its service was updated).
    const services = Array.from({ length: 25 }, (_, i) =>
      service('prod', `svc-${i}`, 'web:42', {
        currentServiceRevisions: [{ arn: serviceRevisionArn('prod', `svc-${i}`, `${i}`) }],
      }),
    );
    const described = services
      .slice(1)
      .map((_, k) =>
        serviceRevision('prod', `svc-${k + 1}`, `${k + 1}`, 'web:42', [
          { image: `${WEB}:1.4`, imageDigest: digestOf(`svc-${k + 1}`) },
        ]),
      );
    givenEcs({ clusters: { prod: { services } } });
    const first = serviceRevisionArn('prod', 'svc-0', '0');
    ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) =>
      describeServiceRevisions(
        described.filter((revision) => input.serviceRevisionArns.includes(revision.serviceRevisionArn!)),
        input.serviceRevisionArns.includes(first) ? [{ arn: first, reason: 'MISSING' }] : [],
      ),
    );

    // Act
    const sightings = await read();

    // Assess
    expect(
      ecs
        .commandCalls(DescribeServiceRevisionsCommand)
        .map((call) => call.args[0].input.serviceRevisionArns?.length),
    ).toEqual([20, 5]);
    const digests = sightings.filter((sighting) => sighting.ref.digest !== undefined);
    expect(digests).toHaveLength(24);
    expect(seen(sightings)).toContainEqual([
      'ECS service svc-0 in cluster prod (task definition web:42)',
      `${WEB}:web-42`,
    ]);
  });

  it.each([['AccessDeniedException'], ['ThrottlingException'], ['ServerException']])(
    'fails when ECS cannot describe a service revision (%s): its digest may be the one ECS starts next',
    async (reason) => {
      // Prepare
      const arn = serviceRevisionArn('prod', 'web', '1');
      givenEcs({
        clusters: {
          prod: { services: [service('prod', 'web', 'web:1', { currentServiceRevisions: [{ arn }] })] },
        },
      });
      ecs.on(DescribeServiceRevisionsCommand).resolves(describeServiceRevisions([], [{ arn, reason }]));

      // Act
      const reading = read();

      // Assess
      await expect(reading).rejects.toBeInstanceOf(AwsUsageReadError);
      await expect(reading).rejects.toThrow(
        `ecs:DescribeServiceRevisions on cluster prod failed for ${arn}: ${reason}`,
      );
      await expect(reading).rejects.toThrow(
        'deploy it again (aws ecs update-service --force-new-deployment)',
      );
    },
  );

  it('reads the task sets of a service deployed by CodeDeploy, and no INACTIVE service', async () => {
    const blueGreen = service('prod', 'api', 'api:7', {
      deploymentController: { type: 'CODE_DEPLOY' },
      deployments: [],
      taskSets: [{ id: 'ecs-svc/1', status: 'ACTIVE', taskDefinition: taskDefinitionArn('api:8') }],
    });
    const gone = service('prod', 'old', 'old:1', { status: 'INACTIVE' });
    givenEcs({ clusters: { prod: { services: [blueGreen, gone] } } });

    const sightings = await read();

    expect(seen(sightings).map(([workload]) => workload)).toEqual([
      'ECS service api in cluster prod (task definition api:7)',
      'ECS service api in cluster prod (task definition api:8)',
    ]);
  });

  it('pages ListClusters, ListServices and ListTasks to the end, 100 a page', async () => {
    // Prepare
    const web = service('prod', 'web', 'web:1');
    const worker = service('prod', 'worker', 'worker:1');
    const one = task('prod', taskId('1'), [container('web', `${WEB}:a`)]);
    const two = task('prod', taskId('2'), [container('web', `${WEB}:b`)]);
    givenEcs({ clusters: { prod: { services: [web, worker], tasks: [one, two] }, dev: {} } });
    ecs
      .on(ListClustersCommand)
      .resolvesOnce({ clusterArns: [clusterArn('prod')], nextToken: 'c1' })
      .resolvesOnce({ clusterArns: [clusterArn('dev')] });
    ecs
      .on(ListServicesCommand, { cluster: clusterArn('prod') })
      .resolvesOnce({ serviceArns: [web.serviceArn!], nextToken: 's1' })
      .resolvesOnce({ serviceArns: [worker.serviceArn!] });
    ecs
      .on(ListTasksCommand, { cluster: clusterArn('prod') })
      .resolvesOnce({ taskArns: [one.taskArn!], nextToken: 't1' })
      .resolvesOnce({ taskArns: [two.taskArn!] });

    // Act
    const sightings = await read();

    // Assess
    expect(sightings).toHaveLength(4);
    const pages = (inputs: readonly { nextToken?: string | undefined; maxResults?: number | undefined }[]) =>
      inputs.map((input) => [input.nextToken, input.maxResults]);
    const inProd = <I extends { cluster?: string | undefined }>(inputs: I[]) =>
      inputs.filter((input) => input.cluster === clusterArn('prod'));
    expect(pages(ecs.commandCalls(ListClustersCommand).map((c) => c.args[0].input))).toEqual([
      [undefined, 100],
      ['c1', 100],
    ]);
    expect(pages(inProd(ecs.commandCalls(ListServicesCommand).map((c) => c.args[0].input)))).toEqual([
      [undefined, 100],
      ['s1', 100],
    ]);
    expect(pages(inProd(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)))).toEqual([
      [undefined, 100],
      ['t1', 100],
    ]);
  });

  it('describes running tasks 100 at a time and services 10 at a time, each task definition once', async () => {
    // Prepare
    const tasks = Array.from({ length: 150 }, (_, i) =>
      task('prod', taskId(`${i}`), [container('web', `${WEB}:t${i}`, digestOf(`t${i}`))]),
    );
    const services = Array.from({ length: 15 }, (_, i) => service('prod', `svc-${i}`, 'shared:1'));
    givenEcs({ clusters: { prod: { services, tasks } } });

    // Act
    const sightings = await read();

    // Assess
    expect(ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([
      100, 50,
    ]);
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input.services?.length)).toEqual([
      10, 5,
    ]);
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1);
    expect(sightings).toHaveLength(15 + 300);
  });

  it('skips a task or service that ECS reports MISSING (stopped or deleted since it was listed)', async () => {
    // Prepare
    const id = taskId('d');
    givenEcs({ clusters: { prod: { tasks: [task('prod', id, [container('web', `${WEB}:x`)])] } } });
    ecs.on(ListTasksCommand).resolves({ taskArns: [taskArn('prod', id), taskArn('prod', taskId('e'))] });
    ecs
      .on(DescribeTasksCommand)
      .resolves(
        describeTasks(
          [task('prod', id, [container('web', `${WEB}:x`)])],
          [{ arn: taskArn('prod', taskId('e')), reason: 'MISSING' }],
        ),
      );

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([[`running ECS task ${id} in cluster prod`, `${WEB}:x`]]);
  });

  it('fails on any other failure of DescribeServices, or on an ARN it did not answer for', async () => {
    givenEcs({ clusters: { prod: { services: [service('prod', 'web', 'web:1')] } } });
    ecs
      .on(DescribeServicesCommand)
      .resolvesOnce(describeServices([], [{ arn: serviceArn('prod', 'web'), reason: 'INTERNAL_ERROR' }]))
      .resolvesOnce(describeServices([]));

    await expect(read()).rejects.toThrow(
      /ecs:DescribeServices on cluster prod failed for .*web: INTERNAL_ERROR/,
    );
    await expect(read()).rejects.toThrow('ecs:DescribeServices on cluster prod did not answer for 1 of 1');
  });

  it('skips a cluster deleted since ListClusters', async () => {
    givenEcs({ clusters: { prod: {} } });
    const gone = new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} });
    ecs.on(ListServicesCommand).rejects(gone);
    ecs.on(ListTasksCommand).rejects(gone);

    await expect(read()).resolves.toEqual([]);
  });

  it('fails on an image reference it cannot parse, naming the workload: doubt means no deletion', async () => {
    givenEcs({
      clusters: { prod: { services: [service('prod', 'web', 'web:9')] } },
      taskDefinitions: { 'web:9': ['Web:Latest'] },
    });

    await expect(read()).rejects.toThrow(
      "ECS service web in cluster prod (task definition web:9) uses image 'Web:Latest', which cannot be parsed",
    );
  });
});

describe('readAwsUsage on Lambda', () => {
  it('reports every version and alias of an image function, each alias resolved to its versions', async () => {
    // Prepare
    givenLambda({
      functions: [imageFunction('api-handler')],
      versions: { 'api-handler': ['13', '14'] },
      aliases: { 'api-handler': [alias('api-handler', 'live', '14', { '13': 0.1 })] },
      code: {
        'api-handler:14': { imageUri: `${WEB}:build-14`, resolvedImageUri: `${WEB}@${digestOf('14')}` },
      },
    });

    // Act
    const sightings = await read();

    // Assess
    expect(seen(sightings)).toEqual([
      ['Lambda function api-handler alias live (version 14)', `${WEB}:build-14`],
      ['Lambda function api-handler alias live (version 14)', `${WEB}@${digestOf('14')}`],
      ['Lambda function api-handler alias live (version 13)', `${WEB}:api-handler-13`],
      ['Lambda function api-handler alias live (version 13)', `${WEB}@${digestOf('api-handler:13')}`],
      ['Lambda function api-handler version $LATEST', `${WEB}:api-handler-LATEST`],
      ['Lambda function api-handler version $LATEST', `${WEB}@${digestOf('api-handler:$LATEST')}`],
      ['Lambda function api-handler version 13', `${WEB}:api-handler-13`],
      ['Lambda function api-handler version 13', `${WEB}@${digestOf('api-handler:13')}`],
      ['Lambda function api-handler version 14', `${WEB}:build-14`],
      ['Lambda function api-handler version 14', `${WEB}@${digestOf('14')}`],
    ]);
    expect(sightings.every((s) => s.cluster === 'aws:lambda' && s.observedAt === NOW)).toBe(true);
    expect(lambda.commandCalls(GetFunctionCommand).map((c) => c.args[0].input.Qualifier)).toEqual(
      expect.arrayContaining(['$LATEST', '13', '14']),
    );
    expect(lambda.commandCalls(GetFunctionCommand)).toHaveLength(3);
  });

  it('ignores .zip functions: no versions, aliases or code are read for them', async () => {
    givenLambda({ functions: [zipFunction('cron'), imageFunction('api')] });

    const sightings = await read();

    expect(new Set(sightings.map((s) => s.workload))).toEqual(
      new Set(['Lambda function api version $LATEST']),
    );
    const asked = lambda.commandCalls(ListVersionsByFunctionCommand).map((c) => c.args[0].input.FunctionName);
    expect(asked).toEqual(['api']);
  });

  it('pages ListFunctions, ListVersionsByFunction and ListAliases to the end, 50 a page', async () => {
    // Prepare
    givenLambda({ functions: [] });
    lambda
      .on(ListFunctionsCommand)
      .resolvesOnce({ Functions: [imageFunction('a')], NextMarker: 'f1' })
      .resolvesOnce({ Functions: [zipFunction('b'), imageFunction('c')] });
    lambda
      .on(ListVersionsByFunctionCommand, { FunctionName: 'a' })
      .resolvesOnce({ Versions: [imageFunction('a'), imageFunction('a', '1')], NextMarker: 'v1' })
      .resolvesOnce({ Versions: [imageFunction('a', '2')] });
    lambda
      .on(ListAliasesCommand, { FunctionName: 'a' })
      .resolvesOnce({ Aliases: [alias('a', 'blue', '1')], NextMarker: 'a1' })
      .resolvesOnce({ Aliases: [alias('a', 'green', '2')] });

    // Act
    const sightings = await read();

    // Assess
    const markers = (inputs: readonly { Marker?: string | undefined; MaxItems?: number | undefined }[]) =>
      inputs.map((input) => [input.Marker, input.MaxItems]);
    const ofA = <I extends { FunctionName?: string | undefined }>(inputs: I[]) =>
      inputs.filter((input) => input.FunctionName === 'a');
    expect(markers(lambda.commandCalls(ListFunctionsCommand).map((c) => c.args[0].input))).toEqual([
      [undefined, 50],
      ['f1', 50],
    ]);
    expect(
      markers(ofA(lambda.commandCalls(ListVersionsByFunctionCommand).map((c) => c.args[0].input))),
    ).toEqual([
      [undefined, 50],
      ['v1', 50],
    ]);
    expect(markers(ofA(lambda.commandCalls(ListAliasesCommand).map((c) => c.args[0].input)))).toEqual([
      [undefined, 50],
      ['a1', 50],
    ]);
    const workloads = new Set(sightings.map((s) => s.workload));
    expect(workloads).toEqual(
      new Set([
        'Lambda function a alias blue (version 1)',
        'Lambda function a alias green (version 2)',
        'Lambda function a version $LATEST',
        'Lambda function a version 1',
        'Lambda function a version 2',
        'Lambda function c version $LATEST',
      ]),
    );
  });

  it('fails when Lambda gives no digest for a version deployed by tag', async () => {
    givenLambda({
      functions: [imageFunction('api')],
      code: { 'api:$LATEST': { imageUri: `${WEB}:latest` } },
    });

    await expect(read()).rejects.toThrow(
      'Lambda function api version $LATEST: lambda:GetFunction gave no image digest',
    );
  });

  it('accepts a version deployed by digest without ResolvedImageUri', async () => {
    const digest = digestOf('pinned');
    givenLambda({
      functions: [imageFunction('api')],
      code: { 'api:$LATEST': { imageUri: `${WEB}@${digest}` } },
    });

    await expect(read().then(seen)).resolves.toEqual([
      ['Lambda function api version $LATEST', `${WEB}@${digest}`],
    ]);
  });

  it('skips a function deleted since ListFunctions', async () => {
    givenLambda({ functions: [imageFunction('gone'), imageFunction('api')] });
    const notFound = new ResourceNotFoundException({
      message: `Function not found: arn:aws:lambda:${REGION}:012345678910:function:gone`,
      $metadata: {},
    });
    lambda.on(ListVersionsByFunctionCommand, { FunctionName: 'gone' }).rejects(notFound);
    lambda.on(GetFunctionCommand, { FunctionName: 'gone' }).rejects(notFound);

    const sightings = await read();

    expect(new Set(sightings.map((s) => s.workload))).toEqual(
      new Set(['Lambda function api version $LATEST']),
    );
  });
});

describe('readAwsUsage when ECS or Lambda cannot be read', () => {
  const ecsDenied = (action: string) =>
    new AccessDeniedException({ message: accessDeniedMessage(action), $metadata: { httpStatusCode: 400 } });
  const lambdaDenied = (action: string) =>
    new LambdaServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      message: accessDeniedMessage(action),
      $metadata: { httpStatusCode: 403 },
    });
  const world = () => {
    givenEcs({
      clusters: {
        prod: {
          services: [
            service('prod', 'web', 'web:1', {
              currentServiceRevisions: [{ arn: serviceRevisionArn('prod', 'web', '1') }],
            }),
          ],
          tasks: [task('prod', taskId('f'), [container('web', `${WEB}:x`)])],
        },
      },
      revisions: [
        serviceRevision('prod', 'web', '1', 'web:1', [{ image: `${WEB}:x`, imageDigest: digestOf('x') }]),
      ],
    });
    givenLambda({ functions: [imageFunction('api')], aliases: { api: [alias('api', 'live', '$LATEST')] } });
  };

  it.each([
    ['ecs:ListClusters', () => ecs.on(ListClustersCommand).rejects(ecsDenied('ecs:ListClusters'))],
    ['ecs:ListTasks on cluster prod', () => ecs.on(ListTasksCommand).rejects(ecsDenied('ecs:ListTasks'))],
    [
      'ecs:DescribeTasks on cluster prod',
      () => ecs.on(DescribeTasksCommand).rejects(ecsDenied('ecs:DescribeTasks')),
    ],
    [
      'ecs:ListServices on cluster prod',
      () => ecs.on(ListServicesCommand).rejects(ecsDenied('ecs:ListServices')),
    ],
    [
      'ecs:DescribeServices on cluster prod',
      () => ecs.on(DescribeServicesCommand).rejects(ecsDenied('ecs:DescribeServices')),
    ],
    [
      'ecs:DescribeServiceRevisions on cluster prod',
      () => ecs.on(DescribeServiceRevisionsCommand).rejects(ecsDenied('ecs:DescribeServiceRevisions')),
    ],
    [
      'ecs:DescribeTaskDefinition on task definition web:1',
      () => ecs.on(DescribeTaskDefinitionCommand).rejects(ecsDenied('ecs:DescribeTaskDefinition')),
    ],
    [
      'lambda:ListFunctions',
      () => lambda.on(ListFunctionsCommand).rejects(lambdaDenied('lambda:ListFunctions')),
    ],
    [
      'lambda:ListVersionsByFunction on function api',
      () => lambda.on(ListVersionsByFunctionCommand).rejects(lambdaDenied('lambda:ListVersionsByFunction')),
    ],
    [
      'lambda:ListAliases on function api',
      () => lambda.on(ListAliasesCommand).rejects(lambdaDenied('lambda:ListAliases')),
    ],
    [
      'lambda:GetFunction on function api version $LATEST',
      () => lambda.on(GetFunctionCommand).rejects(lambdaDenied('lambda:GetFunction')),
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

  it('names every missing permission when both ECS and Lambda refuse', async () => {
    world();
    ecs.on(ListClustersCommand).rejects(ecsDenied('ecs:ListClusters'));
    lambda.on(ListFunctionsCommand).rejects(lambdaDenied('lambda:ListFunctions'));

    const reading = read();

    await expect(reading).rejects.toThrow(
      /lack ecs:ListClusters .*; access denied: the credentials lack lambda:ListFunctions/,
    );
  });

  it('fails when throttling outlasts the retries', async () => {
    world();
    ecs.on(ListTasksCommand).rejects(
      new ECSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: {},
      }),
    );

    await expect(read()).rejects.toThrow(
      'ecs:ListTasks on cluster prod failed: ThrottlingException: Rate exceeded',
    );
  });

  it('fails when a listing hands back a page token it already gave', async () => {
    world();
    ecs.on(ListClustersCommand).resolves({ clusterArns: [clusterArn('prod')], nextToken: 'again' });

    await expect(read()).rejects.toThrow('ecs:ListClusters answered the same page token twice');
  });
});
