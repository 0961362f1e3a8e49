import { UsageError } from '../../lambdas/core/errors';
import { repositoriesFromFlags } from '../../lambdas/handlers/gc-command';
import { environmentRegion } from '../../lambdas/handlers/gc-registry';

describe('repositoriesFromFlags', () => {
  it('keeps each repository once, in the order given', () => {
    expect(repositoriesFromFlags(['web', 'team/api', 'web', 'a.b_c-d/e__f'])).toEqual([
      'web',
      'team/api',
      'a.b_c-d/e__f',
    ]);
  });

  it.each(['', 'Web', 'web app', '/web', 'web/', 'team//web', '-web', 'web:1', 'a'.repeat(256)])(
    'refuses %j as bad usage',
    (name) => {
      expect(() => repositoriesFromFlags([name])).toThrow(UsageError);
      expect(() => repositoriesFromFlags([name])).toThrow('is not a repository name');
    },
  );
});

describe('environmentRegion', () => {
  it.each([
    [{ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' }, 'eu-west-1'],
    [{ AWS_DEFAULT_REGION: 'us-east-1' }, 'us-east-1'],
    [{ AWS_REGION: '', AWS_DEFAULT_REGION: 'us-east-1' }, 'us-east-1'],
    [{ AWS_REGION: '', AWS_DEFAULT_REGION: '' }, undefined],
    [{}, undefined],
  ])('reads %j as %j', (env, region) => {
    expect(environmentRegion(env)).toBe(region);
  });
});
