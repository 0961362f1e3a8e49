import { UsageError } from '../../lambdas/core/errors';
import { repositoriesFromFlags } from '../../lambdas/handlers/gc-command';

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
