import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { GcFlags } from '../lambdas/handlers/gc-command';
import type { ServeFlags } from '../lambdas/local/serve-command';
import { usageExitCode } from '../reporter/src/cli-exit';
import { addReportCommand } from '../reporter/src/report-cli';

// Each command loads its own code when it runs, so that `gc` does not start the SDK clients of
// `serve` or `cluster-key` (start-up time counts in CI).

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * A flag that takes one value: given twice with two values, it is a usage error, not the last one winning. A CI
 * template's `--min-age-days 3` and a job's later `--min-age-days 0` would otherwise lower a
 * protection without a word.
 */
const once = (value: string, previous: unknown) => {
  if (previous !== undefined && previous !== value)
    throw new InvalidArgumentError(`given twice, as '${String(previous)}' and '${value}'; give it once`);
  return value;
};

/** aws-ecr-gc is a Go program: its users may write `-repo x -keep build=8`. Accept that spelling. */
const GO_STYLE_FLAGS = ['repo', 'region', 'keep', 'delete-untagged'];

export function normaliseArgs(args: readonly string[]): string[] {
  return args.map((arg) => {
    const match = /^-([a-z-]+)(=.*)?$/.exec(arg);
    return match && GO_STYLE_FLAGS.includes(match[1]!) ? `-${arg}` : arg;
  });
}

export function buildProgram(): Command {
  const program = new Command('registry-janitor')
    .description('Deletes container images nobody runs any more, and only those.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program
    .command('gc')
    .description('One-shot garbage collection of a registry (aws-ecr-gc compatible, usage-aware)')
    .option('--repo <name>', 'repository to clean (repeatable)', collect)
    .option(
      '--registry <url>',
      'an OCI Distribution registry instead of ECR, e.g. https://registry.example.com',
      once,
    )
    .option(
      '--region <region>',
      'AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION, then the AWS profile)',
      once,
    )
    .option(
      '--keep <prefix=n>',
      'keep the newest N images with a tag starting with PREFIX (repeatable)',
      collect,
    )
    .addOption(
      new Option('--delete-untagged [bool]', 'delete untagged images (true|false)')
        .preset('true')
        .argParser(once),
    )
    .option('--unused-days <n>', 'a sighting or ECR pull within N days protects an image (default: 7)', once)
    .option('--min-age-days <n>', 'images pushed within N days are kept (default: 0)', once)
    .option('--sightings <file>', 'an ingest body of what a cluster runs (repeatable)', collect)
    .option('--lifecycle-policy <file>', 'ECR lifecycle-policy JSON rules to apply as well', once)
    .option('--protect-tag <glob>', 'never delete images with a tag matching GLOB (repeatable)', collect)
    .option('--aws-usage', 'also protect images used by ECS and Lambda in this account and region')
    .option('--dry-run', 'show what would be deleted, delete nothing')
    .option('--json', 'print the plan and outcomes as JSON')
    .option('--verbose', 'list every image with its decision and reason')
    .action(async (flags: GcFlags) => {
      const { gcCommand } = await import('../lambdas/handlers/gc-command');
      process.exitCode = await gcCommand(flags);
    });
  program
    .command('serve')
    .description('Runs the whole janitor on this machine: API, review pages, dashboard, scheduled scans')
    .option('--port <port>', 'port to listen on', '8787')
    .option(
      '--host <address>',
      'address to bind (the dashboard has no password: keep it on loopback)',
      '127.0.0.1',
    )
    .option('--data-dir <dir>', 'where the embedded database, secrets and outbox live', '.janitor')
    .option('--config <file>', 'YAML or JSON: registry, repositories, policy, schedule')
    .action(async (flags: ServeFlags) => {
      const { serveCommand } = await import('../lambdas/local/serve-command');
      process.exitCode = await serveCommand(flags);
    });
  program
    .command('cluster-key')
    .description("Prints the key a cluster's reporter signs its reports with")
    .argument('<cluster>', 'the cluster name the reporter sends (JANITOR_CLUSTER)')
    .option(
      '--secret-arn <arn>',
      'the ingest secret in AWS Secrets Manager (without a flag: JANITOR_INGEST_SECRET, else JANITOR_INGEST_SECRET_ARN)',
    )
    .option('--data-dir <dir>', 'a serve data dir: the ingest secret it generated (its secrets.json)')
    .action(async (cluster: string, flags: { secretArn?: string; dataDir?: string }) => {
      const { clusterKeyCommand } = await import('../lambdas/handlers/cluster-key-command');
      process.exitCode = await clusterKeyCommand(cluster, flags);
    });
  program
    .command('retire-cluster')
    .description(
      'Forgets a cluster that is gone for good, so that its silence no longer blocks deletions where it ran',
    )
    .argument('<cluster>', 'the cluster name its reporter sent (JANITOR_CLUSTER)')
    .option('--data-dir <dir>', 'a serve data dir (stop serve first): its embedded database')
    .option(
      '--table <name>',
      "the deployed stack's DynamoDB table (in its RetireClusterCommand output), with AWS credentials",
    )
    .action(async (cluster: string, flags: { dataDir?: string; table?: string }) => {
      const { retireClusterCommand } = await import('../lambdas/handlers/retire-cluster-command');
      process.exitCode = await retireClusterCommand(cluster, flags);
    });
  addReportCommand(program);
  return program;
}

async function main(): Promise<void> {
  // The AWS SDK warns on every run under Node 20 that its releases after January 2027 will need
  // Node 22. The SDK in these bundles is fixed at build time, so the warning is for whoever updates
  // the bundle, not for the person running it; it would only add lines to every CI log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // An empty AWS_REGION (CI systems export variables they know, empty) means unset: left in, the
  // SDK would take '' for the region and never reach AWS_DEFAULT_REGION or the profile's region.
  if (process.env.AWS_REGION === '') delete process.env.AWS_REGION;
  try {
    await buildProgram().parseAsync(normaliseArgs(process.argv.slice(2)), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = usageExitCode(error);
      return;
    }
    process.stderr.write(`registry-janitor: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
