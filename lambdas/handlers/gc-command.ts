import { readFileSync } from 'node:fs';
import { terminalProgress } from '../adapters/terminal-progress';
import { JanitorError, PolicyError, SightingsError, UsageError } from '../core/errors';
import { isRepositoryName } from '../core/image-ref';
import { parseLifecyclePolicy } from '../core/lifecycle-policy';
import type { ClusterReport, Sighting } from '../core/model';
import { DEFAULT_POLICY, type KeepRule, type Policy, parseKeepRule, validatePolicy } from '../core/policy';
import type { Registry } from '../core/ports';
import { minutesAhead, parseClusterReport, reportsOfBodies, sightingsFromReport } from '../core/report';
import { runGc } from './gc';
import { registryFromFlags } from './gc-registry';
import { usageFromFlags } from './gc-usage';

/** The `gc` flags as commander hands them over. */
export interface GcFlags {
  readonly repo?: string[];
  readonly registry?: string;
  readonly region?: string;
  readonly keep?: string[];
  readonly deleteUntagged?: string | boolean;
  readonly unusedDays?: string;
  readonly minAgeDays?: string;
  readonly sightings?: string[];
  readonly lifecyclePolicy?: string;
  readonly protectTag?: string[];
  readonly awsUsage?: boolean;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

/** Runs `gc` from its flags; returns the exit code (DESIGN.md: 0 ok, 1 run-time failure, 2 usage). */
export async function gcCommand(flags: GcFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let request: Parameters<typeof runGc>[0];
  let registry: Registry;
  let usage: ((now: Date) => Promise<readonly Sighting[]>) | undefined;
  try {
    request = {
      repositories: repositoriesFromFlags(flags.repo ?? []),
      policy: policyFromFlags(flags),
      ...sightingsFromFiles(flags.sightings ?? []),
      dryRun: flags.dryRun === true,
      json: flags.json === true,
      verbose: flags.verbose === true,
    };
    registry = await registryFromFlags(flags, env);
    usage = usageFromFlags(flags, registry, env);
  } catch (error) {
    if (error instanceof JanitorError) {
      process.stderr.write(`registry-janitor gc: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const progress = terminalProgress();
  try {
    return await runGc(request, {
      registry,
      now: () => new Date(),
      stdout: (line) => process.stdout.write(`${line}\n`),
      stderr: (line) => {
        progress.done();
        process.stderr.write(`${line}\n`);
      },
      progress: progress.report,
      ...(usage ? { usage } : {}),
    });
  } catch (error) {
    progress.done();
    process.stderr.write(`registry-janitor gc: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    progress.done();
  }
}

/** Builds the policy of a `gc` run: aws-ecr-gc's defaults (`minAgeDays` 0, only named rules delete). */
export function policyFromFlags(flags: GcFlags): Policy {
  const keep: KeepRule[] = (flags.keep ?? []).map(parseKeepRule);
  const lifecyclePolicy =
    flags.lifecyclePolicy === undefined
      ? undefined
      : parseLifecyclePolicy(readText(flags.lifecyclePolicy, 'lifecycle policy'));
  const policy: Policy = {
    ...DEFAULT_POLICY,
    unusedDays: wholeNumber('--unused-days', flags.unusedDays, 7),
    minAgeDays: wholeNumber('--min-age-days', flags.minAgeDays, 0),
    protectTags: flags.protectTag ?? [],
    usePullTime: flags.registry === undefined,
    rules: {
      keep,
      deleteUntagged: parseBoolean('--delete-untagged', flags.deleteUntagged),
      unusedTagged: false,
      ...(lifecyclePolicy ? { lifecyclePolicy } : {}),
    },
  };
  return validatePolicy(policy);
}

/** The `--repo` names, each once, in the order given; a name no registry can hold is a usage error. */
export function repositoriesFromFlags(names: readonly string[]): string[] {
  for (const name of names) {
    if (!isRepositoryName(name)) {
      throw new UsageError(
        `--repo '${name}' is not a repository name (lowercase letters and digits, separated by . _ - within a part and / between parts)`,
      );
    }
  }
  return [...new Set(names)];
}

/** Every `--sightings` file's sightings, and each cluster's reports (its last is the newest). */
function sightingsFromFiles(paths: readonly string[]): {
  sightings: Sighting[];
  clusterReports: ClusterReport[];
} {
  const now = new Date();
  const read = paths.map((path) => readSightingsFile(path, now));
  return {
    sightings: read.flatMap((file) => file.sightings),
    // The parts of one report may come in several files.
    clusterReports: reportsOfBodies(read.flatMap((file) => file.bodies)),
  };
}

/** Go's flag.ParseBool, as aws-ecr-gc reads `--delete-untagged=VALUE`. */
export function parseBoolean(flag: string, value: string | boolean | undefined): boolean {
  if (value === undefined || typeof value === 'boolean') return value === true;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new PolicyError(`${flag} expects true or false, got '${value}'`);
}

function wholeNumber(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new PolicyError(`${flag} expects a whole number of days, got '${value}'`);
  return Number(value);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

/** What a body says of its cluster's reports: when, and which part of a report it is. */
type ReportedBody = Parameters<typeof reportsOfBodies>[0][number];

/**
 * Reads one `--sightings` file (an ingest body, or an array of them): its sightings, and each
 * body's cluster and `observedAt` (a body with no image still says the cluster reported then).
 * Any bad entry is a usage error, never skipped. So is an `observedAt` more than 5 minutes after
 * `now`: written by a clock running fast, it would keep its cluster looking alive (and the
 * repositories it runs in unblocked) for as long as the clock is ahead.
 */
export function readSightingsFile(
  path: string,
  now: Date = new Date(),
): { sightings: Sighting[]; bodies: ReportedBody[] } {
  const text = readText(path, 'sightings');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SightingsError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  // One ingest body, or the array of bodies that `registry-janitor report --dry-run` prints.
  const bodies = Array.isArray(value) ? value : [value];
  // An empty list protects nothing: most likely reports went missing on the way.
  if (bodies.length === 0) throw new SightingsError(`${path} holds no cluster report (an empty list)`);
  try {
    const sightings: Sighting[] = [];
    const reported: ReportedBody[] = [];
    bodies.forEach((body, index) => {
      const report = parseClusterReport(body);
      const observedAt = new Date(report.observedAt);
      const minutes = minutesAhead(observedAt, now);
      if (minutes !== undefined) {
        const where = bodies.length > 1 ? `body ${index + 1}: ` : '';
        throw new SightingsError(
          `${where}observedAt ${report.observedAt} is ${minutes} minutes after this machine's clock (${now.toISOString()}); a report from the future would keep cluster ${report.cluster} looking alive. Check the reporter's clock`,
        );
      }
      const read = sightingsFromReport(report);
      if (read.ignored.length > 0) {
        const where = bodies.length > 1 ? `body ${index + 1}: ` : '';
        const first = read.ignored[0]!;
        throw new SightingsError(
          `${where}image '${first.image}': ${first.reason} (${read.ignored.length} unusable entries)`,
        );
      }
      sightings.push(...read.sightings);
      reported.push({
        cluster: report.cluster,
        observedAt,
        ...(report.round ? { round: report.round } : {}),
      });
    });
    return { sightings, bodies: reported };
  } catch (error) {
    if (error instanceof SightingsError) throw new SightingsError(`${path}: ${error.message}`);
    throw error;
  }
}
