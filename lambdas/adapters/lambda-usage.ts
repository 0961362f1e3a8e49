import {
  type AliasConfiguration,
  type FunctionCodeLocation,
  GetFunctionCommand,
  type LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { getOrCreate } from '../core/collections';
import type { Sighting } from '../core/model';
import { AwsUsageCalls, isAwsError, settleAll } from './aws-usage-calls';
import { AwsUsageReadError } from './errors';
import { imageSightings, LAMBDA_USAGE_CLUSTER, type Workload } from './workload-sightings';

/** Lambda answers at most 50 items a page, whatever MaxItems asks for. */
const LIST_PAGE = 50;
/** A function or version deleted since it was listed runs nothing any more. */
const GONE = ['ResourceNotFoundException'];

export interface LambdaUsageOptions {
  readonly client: LambdaClient;
  /** The `observedAt` of every sighting. */
  readonly now: Date;
  /** Lambda requests in flight at once. @default 4 */
  readonly concurrency?: number;
}

/**
 * What Lambda runs or can run in the client's account and region, as sightings of cluster
 * `aws:lambda`: for every function of package type `Image`, each version (`$LATEST` and every
 * published one) and each alias (resolved to its version, and to the weighted extra version of
 * a canary), the image of `GetFunction`'s `Code.ImageUri` and `Code.ResolvedImageUri`. Aliases
 * come before versions, so that an aliased image is reported under its alias.
 */
export function readLambdaUsage(options: LambdaUsageOptions): Promise<Sighting[]> {
  return new LambdaUsageReader(options).read();
}

class LambdaUsageReader {
  private readonly calls: AwsUsageCalls;

  constructor(private readonly options: LambdaUsageOptions) {
    this.calls = new AwsUsageCalls('lambda', options.concurrency);
  }

  async read(): Promise<Sighting[]> {
    const { client } = this.options;
    const functions = await this.calls.listAll(
      'ListFunctions',
      undefined,
      (Marker) => client.send(new ListFunctionsCommand({ MaxItems: LIST_PAGE, Marker })),
      (page) => ({ items: page.Functions, next: page.NextMarker }),
    );
    const names = functions
      .filter((fn) => fn.PackageType === 'Image')
      .map((fn) => {
        if (!fn.FunctionName)
          throw new AwsUsageReadError('lambda:ListFunctions listed a function without a name');
        return fn.FunctionName;
      });
    return (await settleAll(names.map((name) => this.functionSightings(name)))).flat();
  }

  private async functionSightings(name: string): Promise<Sighting[]> {
    const [versions, aliases] = await Promise.all([this.versions(name), this.aliases(name)]);
    const code = new Map<string, Promise<FunctionCodeLocation | undefined>>();
    const codeOf = (version: string) => getOrCreate(code, version, () => this.code(name, version));
    const sightingsOf = async (version: string, workload: string) => {
      const location = await codeOf(version);
      return location ? codeSightings(this.workload(workload), location) : [];
    };
    const byAlias = aliases.flatMap((alias) =>
      aliasVersions(name, alias).map((version) =>
        sightingsOf(version, `Lambda function ${name} alias ${alias.Name} (version ${version})`),
      ),
    );
    const byVersion = versions.map((version) =>
      sightingsOf(version, `Lambda function ${name} version ${version}`),
    );
    return (await settleAll([...byAlias, ...byVersion])).flat();
  }

  /** `$LATEST` and every published version; none when the function is gone. */
  private async versions(name: string): Promise<string[]> {
    const { client } = this.options;
    const listed = await this.unlessGone(() =>
      this.calls.listAll(
        'ListVersionsByFunction',
        `function ${name}`,
        (Marker) =>
          client.send(new ListVersionsByFunctionCommand({ FunctionName: name, MaxItems: LIST_PAGE, Marker })),
        (page) => ({ items: page.Versions, next: page.NextMarker }),
      ),
    );
    return (listed ?? []).map((version) => {
      if (!version.Version) {
        throw new AwsUsageReadError(
          `lambda:ListVersionsByFunction listed a version of ${name} without a number`,
        );
      }
      return version.Version;
    });
  }

  private async aliases(name: string): Promise<AliasConfiguration[]> {
    const { client } = this.options;
    const listed = await this.unlessGone(() =>
      this.calls.listAll(
        'ListAliases',
        `function ${name}`,
        (Marker) => client.send(new ListAliasesCommand({ FunctionName: name, MaxItems: LIST_PAGE, Marker })),
        (page) => ({ items: page.Aliases, next: page.NextMarker }),
      ),
    );
    return listed ?? [];
  }

  /** `GetFunction`'s `Code` of one version; undefined when the version is gone. */
  private code(name: string, version: string): Promise<FunctionCodeLocation | undefined> {
    return this.unlessGone(async () => {
      const answer = await this.calls.call('GetFunction', `function ${name} version ${version}`, () =>
        this.options.client.send(new GetFunctionCommand({ FunctionName: name, Qualifier: version })),
      );
      return answer.Code ?? {};
    });
  }

  private async unlessGone<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (isAwsError(error, GONE)) return undefined;
      throw error;
    }
  }

  private workload(workload: string): Workload {
    return { cluster: LAMBDA_USAGE_CLUSTER, workload, observedAt: this.options.now };
  }
}

/** The version an alias points to, then the extra version of its weighted routing (a canary). */
function aliasVersions(name: string, alias: AliasConfiguration): string[] {
  if (!alias.FunctionVersion) {
    throw new AwsUsageReadError(
      `lambda:ListAliases listed alias ${alias.Name ?? '?'} of ${name} without its version`,
    );
  }
  const weighted = Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
  return [alias.FunctionVersion, ...weighted.filter((version) => version !== alias.FunctionVersion)];
}

/**
 * The image a version runs: `ResolvedImageUri` (by digest, what Lambda pulled) and `ImageUri`
 * (as deployed, often by tag). Without a digest the image it runs cannot be told: an error.
 */
function codeSightings(workload: Workload, code: FunctionCodeLocation): Sighting[] {
  const sightings = [code.ImageUri, code.ResolvedImageUri].flatMap((uri) =>
    uri ? imageSightings(workload, { image: uri }) : [],
  );
  if (!sightings.some((sighting) => sighting.ref.digest !== undefined)) {
    throw new AwsUsageReadError(
      `${workload.workload}: lambda:GetFunction gave no image digest (ImageUri ${code.ImageUri ?? 'missing'}, ResolvedImageUri missing), so the image it runs cannot be told`,
    );
  }
  return sightings;
}
