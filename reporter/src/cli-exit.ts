import type { CommanderError } from 'commander';

/**
 * The exit code of a command line commander stopped: 0 for help or the version asked for, 2 (bad
 * usage) for anything else. `commander.help` is also how a missing command ends (usage on stderr,
 * exit code 1): its exit code tells the two apart.
 */
export function usageExitCode(error: CommanderError): 0 | 2 {
  const asked =
    error.code === 'commander.helpDisplayed' ||
    error.code === 'commander.version' ||
    (error.code === 'commander.help' && error.exitCode === 0);
  return asked ? 0 : 2;
}
