import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../lambdas/core/errors';
import { loadServeConfig } from '../../lambdas/local/serve-config';

const dir = mkdtempSync(join(tmpdir(), 'janitor-serve-config-'));
let files = 0;

/** Writes `config` as a JSON file and loads it. */
function load(config: object) {
  const file = join(dir, `config-${++files}.json`);
  writeFileSync(file, JSON.stringify(config));
  return () => loadServeConfig(file);
}

const LIFECYCLE = {
  rules: [
    {
      rulePriority: 1,
      selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 },
      action: { type: 'expire' },
    },
  ],
};

describe('loadServeConfig: the registry', () => {
  it('takes an OCI registry URL without a path, as gc --registry does', () => {
    expect(load({ registry: { url: 'http://127.0.0.1:5000/v2/' } })().registry).toEqual({
      url: 'http://127.0.0.1:5000/',
    });
  });

  it.each([
    [
      { url: 'http://127.0.0.1:5000/myproject/sub' },
      "registry.url takes the registry's address without a path",
    ],
    [{ ecr: { region: 'bogus region!' } }, 'registry.ecr.region: an AWS region, such as eu-west-1'],
    [{ ulr: 'https://registry.example.com' }, 'registry: Unrecognized key: "ulr"'],
    [
      { ecr: {}, url: 'https://registry.example.com' },
      'registry: give either ecr: { region } or url: https://host[:port], not both or neither',
    ],
    [{}, 'registry: give either ecr: { region } or url'],
  ])('refuses %j, naming the setting', (registry, message) => {
    expect(load({ registry })).toThrow(UsageError);
    expect(load({ registry })).toThrow(message);
  });

  it('refuses credentials in the URL without repeating them', () => {
    const loading = load({ registry: { url: 'http://alice:s3cret@127.0.0.1:5000/' } });
    expect(loading).toThrow(
      'registry.url must not carry credentials: set REGISTRY_USERNAME and REGISTRY_PASSWORD',
    );
    expect(() => loading()).not.toThrow(/s3cret/);
  });

  it.each([
    [
      { repositoryTag: { key: 'team', value: 'a' } },
      'repositoryTag selects ECR repositories by resource tag',
    ],
    [{ policy: { lifecyclePolicy: LIFECYCLE } }, 'policy.lifecyclePolicy is for ECR only'],
    [
      { overrides: [{ repositories: 'a/*', policy: { lifecyclePolicy: LIFECYCLE } }] },
      'overrides.0.policy.lifecyclePolicy is for ECR only',
    ],
  ])('refuses an ECR-only setting with an OCI registry: %j', (settings, message) => {
    const loading = load({ registry: { url: 'https://registry.example.com' }, ...settings });
    expect(loading).toThrow(UsageError);
    expect(loading).toThrow(message);
  });

  it('keeps the ECR-only settings on ECR', () => {
    const config = load({
      repositoryTag: { key: 'team', value: 'a' },
      policy: { lifecyclePolicy: LIFECYCLE },
    })();
    expect(config.scan.repositoryTag).toEqual({ key: 'team', value: 'a' });
    expect(config.scan.policyFor('web').rules.lifecyclePolicy).toBeDefined();
  });
});

describe('loadServeConfig: the schedule', () => {
  it('takes a 5-field cron expression', () => {
    expect(load({ schedule: '15 3 * * 1-5' })().schedule).toBe('15 3 * * 1-5');
  });

  it.each([
    ['* * * * * *', 'must have 5 fields (minute hour day-of-month month day-of-week, UTC), not 6'],
    ['0 6', 'not 2'],
    ['61 * * * *', 'is not a cron expression'],
    // Valid, but of a day that never comes: serve would never scan.
    ['0 0 31 2 *', "schedule '0 0 31 2 *' never fires"],
  ])('refuses %j', (schedule, message) => {
    expect(load({ schedule })).toThrow(UsageError);
    expect(load({ schedule })).toThrow(message);
  });
});

describe("the README's configuration example", () => {
  it('is a configuration serve accepts, with the settings it shows', () => {
    // Prepare: the example as the README prints it.
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const example =
      /A configuration file \(YAML or JSON\), every field optional:\n\n```yaml\n([\s\S]*?)```/.exec(
        readme,
      )?.[1];
    if (example === undefined) throw new Error('the README no longer has its configuration example');
    const file = join(mkdtempSync(join(tmpdir(), 'janitor-readme-')), 'janitor.yaml');
    writeFileSync(file, example);

    // Act
    const config = loadServeConfig(file);

    // Assess
    expect(config.registry).toEqual({ ecr: { region: 'eu-west-1' } });
    expect(config.schedule).toBe('0 6,18 * * *');
    expect(config.scan.repositoryTag).toEqual({ key: 'janitor', value: 'on' });
    const policy = config.scan.policyFor('web');
    expect(policy).toMatchObject({
      unusedDays: 7,
      minAgeDays: 3,
      usePullTime: true,
      protectTags: ['release-*'],
    });
    expect(policy.rules.lifecyclePolicy?.rules).toHaveLength(1);
    expect(config.scan.policyFor('legacy/app').rules.unusedTagged).toBe(false);
  });
});
