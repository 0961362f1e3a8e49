import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { readAwsUsage } from '../../lambdas/adapters/aws-usage';
import { formatImageReference } from '../../lambdas/core/image-ref';
import { digestOf, NOW } from '../fixtures/builders';
import { type EcsFake, startEcsFake } from '../fixtures/ecs-fake';
import { type LambdaFake, startLambdaFake } from '../fixtures/lambda-fake';

/**
 * The `--aws-usage` reader with the real SDK clients (serialisers, error parsing, pagination) over
 * HTTP against the ECS and Lambda fakes, pages of 2 items to make every listing page.
 */
const WEB = '123456789012.dkr.ecr.us-east-1.amazonaws.com/web';
const client = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

let ecsFake: EcsFake;
let lambdaFake: LambdaFake;
const read = () =>
  readAwsUsage({
    ecs: new ECSClient({ ...client, endpoint: ecsFake.url }),
    lambda: new LambdaClient({ ...client, endpoint: lambdaFake.url }),
    now: NOW,
  });

beforeAll(async () => {
  ecsFake = await startEcsFake({ pageSize: 2 });
  lambdaFake = await startLambdaFake({ pageSize: 2 });
});
afterAll(async () => {
  await ecsFake.close();
  await lambdaFake.close();
});
beforeEach(() => {
  ecsFake.reset();
  lambdaFake.reset();
});

describe('readAwsUsage over HTTP against the ECS and Lambda fakes', () => {
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
});
