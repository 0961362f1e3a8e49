import { type EcrFake, type EcrFakeImage, startEcrFake } from '../fixtures/ecr-fake';
import { type EcsFake, startEcsFake } from '../fixtures/ecs-fake';
import { type EventBridgeFake, startEventBridgeFake } from '../fixtures/eventbridge-fake';
import { type LambdaFake, startLambdaFake } from '../fixtures/lambda-fake';
import { runCli } from '../fixtures/run-cli';
import { type SchedulerFake, startSchedulerFake } from '../fixtures/scheduler-fake';

/**
 * `registry-janitor gc --aws-usage` as a real process, its ECR, ECS, Lambda, EventBridge and
 * Scheduler clients pointed at the five fakes by the standard `AWS_ENDPOINT_URL_<SERVICE>`
 * variables.
 */
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const ARGS = ['gc', '--repo', 'web', '--keep', 'build=2', '--region', 'us-east-1', '--verbose'];

let ecr: EcrFake;
let ecs: EcsFake;
let lambda: LambdaFake;
let events: EventBridgeFake;
let scheduler: SchedulerFake;
let builds: EcrFakeImage[];
const gc = (args: readonly string[]) =>
  runCli(args, {
    endpoint: ecr.url,
    env: {
      AWS_ENDPOINT_URL_ECS: ecs.url,
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
      AWS_ENDPOINT_URL_SCHEDULER: scheduler.url,
    },
  });
const tagsLeft = () => ecr.images('web').flatMap((image) => image.tags);
const digestOfBuild = (n: number) => builds[n - 1]!.digest;

beforeAll(async () => {
  [ecr, ecs, lambda, events, scheduler] = await Promise.all([
    startEcrFake(),
    startEcsFake(),
    startLambdaFake(),
    startEventBridgeFake(),
    startSchedulerFake(),
  ]);
});
afterAll(async () => {
  await Promise.all([ecr.close(), ecs.close(), lambda.close(), events.close(), scheduler.close()]);
});

/**
 * build-1 … build-6 in `web`, so that `--keep build=2` makes build-1 … build-4 candidates. Lambda
 * version 14 of api-handler runs build-1 (deployed by a tag that has moved on since: only the
 * digest Lambda resolved names it); a standalone ECS task runs build-2 (by digest, its tag gone
 * too); service web's task definition names build-3 by tag.
 */
beforeEach(() => {
  ecr.reset();
  ecs.reset();
  lambda.reset();
  events.reset();
  scheduler.reset();
  builds = [1, 2, 3, 4, 5, 6].map((n) =>
    ecr.putImage({ repository: 'web', tags: [`build-${n}`], pushedAt: new Date(Date.UTC(2026, 0, n)) }),
  );
  lambda.putFunction({
    name: 'api-handler',
    image: { imageUri: `${HOST}/web:build-6`, resolvedImageUri: `${HOST}/web@${digestOfBuild(6)}` },
  });
  lambda.publishVersion('api-handler', '14', {
    imageUri: `${HOST}/web:release`,
    resolvedImageUri: `${HOST}/web@${digestOfBuild(1)}`,
  });
  lambda.putFunction({ name: 'cron' });
  const nightly = ecs.registerTaskDefinition('nightly', [`${HOST}/web:nightly`]);
  ecs.runTask({
    cluster: 'prod',
    taskDefinition: nightly,
    containers: [{ name: 'job', image: `${HOST}/web:nightly`, imageDigest: digestOfBuild(2) }],
  });
  ecs.createService({
    cluster: 'prod',
    name: 'web',
    taskDefinition: ecs.registerTaskDefinition('web', [`${HOST}/web:build-3`]),
  });
});

describe('registry-janitor gc --aws-usage', () => {
  it('keeps the images that Lambda and ECS run, beyond --keep, and says whose they are', async () => {
    // Act
    const result = await gc([...ARGS, '--aws-usage']);

    // Assess
    expect(result.stdout).toMatch(/\[build-1\] kept: image of Lambda function api-handler version 14\n/);
    expect(result.stdout).toMatch(/\[build-2\] kept: image of running ECS task 0{31}1 in cluster prod\n/);
    expect(result.stdout).toMatch(
      /\[build-3\] kept: image of ECS service web in cluster prod \(task definition web:1\) \(by tag 'build-3'\)\n/,
    );
    expect(result.stdout).toContain('Deleted (1)\n');
    expect(result.code).toBe(0);
    expect(tagsLeft()).toEqual(['build-1', 'build-2', 'build-3', 'build-5', 'build-6']);
  });

  it('deletes those same images without the flag, reading neither ECS nor Lambda', async () => {
    const result = await gc(ARGS);

    expect(result.stdout).toContain('Deleted (4)\n');
    expect(result.code).toBe(0);
    expect(tagsLeft()).toEqual(['build-5', 'build-6']);
    expect(ecs.calls).toHaveLength(0);
    expect(lambda.calls).toHaveLength(0);
    expect(events.calls).toHaveLength(0);
    expect(scheduler.calls).toHaveLength(0);
  });

  it('keeps the untagged images of tasks that a rule and a disabled schedule start, between their runs', async () => {
    // Prepare: two untagged images pushed long ago and never pulled, no task running them; the
    // monthly rule names the family (its latest revision runs), the disabled schedule a revision.
    const old = new Date(Date.UTC(2025, 0, 1));
    const [monthly, yearly, orphan] = [1, 2, 3].map(() => ecr.putImage({ repository: 'web', pushedAt: old }));
    ecs.registerTaskDefinition('close', [`${HOST}/web:build-4`]);
    ecs.registerTaskDefinition('close', [`${HOST}/web@${monthly!.digest}`]);
    const archive = ecs.registerTaskDefinition('archive', [`${HOST}/web@${yearly!.digest}`]);
    const definitions = `arn:aws:ecs:us-east-1:123456789012:task-definition`;
    events.putRule({ name: 'month-end' });
    events.putTargets('month-end', [{ id: 'run', taskDefinitionArn: `${definitions}/close` }]);
    scheduler.createSchedule({
      name: 'year-end',
      group: 'finance',
      state: 'DISABLED',
      taskDefinitionArn: `${definitions}/${archive}`,
    });

    // Act
    const result = await gc([...ARGS, '--aws-usage', '--delete-untagged']);

    // Assess
    expect(result.code).toBe(0);
    const line = (image: EcrFakeImage) =>
      `${image.digest.slice(0, 'sha256:'.length + 9)}... [] kept: image of`;
    expect(result.stdout).toContain(
      `${line(monthly!)} ECS task definition close:2, scheduled by EventBridge rule month-end\n`,
    );
    expect(result.stdout).toContain(
      `${line(yearly!)} ECS task definition archive:1, scheduled by EventBridge Scheduler schedule finance/year-end (disabled)\n`,
    );
    const left = ecr.images('web').map((image) => image.digest);
    expect(left).toEqual(expect.arrayContaining([monthly!.digest, yearly!.digest]));
    expect(left).not.toContain(orphan!.digest);
    expect(tagsLeft()).toEqual(['build-1', 'build-2', 'build-3', 'build-5', 'build-6']);
  });

  it.each([
    ['ecs:ListTasks', () => ecs.denyAccess('ListTasks')],
    ['ecs:DescribeTaskDefinition', () => ecs.denyAccess('DescribeTaskDefinition')],
    ['lambda:ListFunctions', () => lambda.denyAccess('ListFunctions')],
    ['lambda:GetFunction', () => lambda.denyAccess('GetFunction')],
    ['events:ListRules', () => events.denyAccess('ListRules')],
    ['scheduler:ListSchedules', () => scheduler.denyAccess('ListSchedules')],
  ])('deletes nothing and exits 1 naming %s when it is denied', async (permission, deny) => {
    // Prepare
    deny();

    // Act
    const result = await gc([...ARGS, '--aws-usage']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`access denied: the credentials lack ${permission}`);
    expect(result.stderr).toContain('Nothing was deleted');
    expect(ecr.calls.BatchDeleteImage).toBe(0);
    expect(ecr.calls.DescribeImages).toBe(0);
    expect(tagsLeft()).toHaveLength(6);
  });

  it('keeps what ECS and Lambda run even with --unused-days 0: their sightings are as of the run', async () => {
    const result = await gc([...ARGS, '--aws-usage', '--unused-days', '0']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\[build-1\] kept: image of Lambda function api-handler version 14\n/);
    expect(tagsLeft()).toEqual(['build-1', 'build-2', 'build-3', 'build-5', 'build-6']);
  });

  it('refuses --aws-usage with an OCI registry (--registry) as bad usage, exit 2, touching nothing', async () => {
    const result = await gc(['gc', '--registry', 'http://127.0.0.1:9', '--repo', 'web', '--aws-usage']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--aws-usage applies to ECR only');
    expect(ecs.calls).toHaveLength(0);
    expect(lambda.calls).toHaveLength(0);
    expect(ecr.calls.log).toHaveLength(0);
  });
});
