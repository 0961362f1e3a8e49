/**
 * Entry of the reporter bundle (`npm run build:reporter` → reporter/dist/reporter.js): only the
 * `report` command, so that the file stays small enough for a ConfigMap.
 * Run as `node reporter.js report --once`.
 */
import { Command, CommanderError } from 'commander';
import { usageExitCode } from './cli-exit';
import { addReportCommand } from './report-cli';

async function main(): Promise<void> {
  const program = new Command('registry-janitor')
    .description('registry-janitor in-cluster reporter')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  addReportCommand(program);
  try {
    await program.parseAsync(process.argv.slice(2), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = usageExitCode(error);
      return;
    }
    process.stderr.write(
      `registry-janitor report: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}

void main();
