/** The `report` command's flags, shared by `bin/cli.ts` and the reporter bundle (`main.ts`). */
import type { Command } from 'commander';
import type { ReportFlags } from './config';

/** Adds `report [--once] [--interval 5m] [--deadline D] [--dry-run]` to `program`. */
export function addReportCommand(program: Command): Command {
  program
    .command('report')
    .description('The in-cluster reporter: sends the images this cluster runs to the ingest API')
    .option('--once', 'send one report and exit (0 when every body got 202)')
    .option('--interval <duration>', 'time between reports without --once: 30s, 5m, 1h', '5m')
    .option(
      '--deadline <duration>',
      'give a round up after this long (no new request or retry; exit 1 with --once): 30s, 4m',
    )
    .option('--dry-run', 'print the bodies as JSON on stdout instead of sending them')
    .action(async (flags: ReportFlags) => {
      // Loaded when it runs: the other commands do not compile the reporter.
      const { reportCommand } = await import('./report-command');
      process.exitCode = await reportCommand(flags);
    });
  return program;
}
