import * as path from 'node:path';
import { type Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The directory of the Lambda handlers (`lambdas/handlers/<name>.ts`, each exporting its entry points). */
export const HANDLERS_DIR = path.join(__dirname, '..', 'lambdas', 'handlers');

/** The runtime of every janitor function (named, never "latest": a runtime change is a reviewed change). */
export const JANITOR_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface JanitorFunctionProps {
  /** The handler file, relative to `lambdas/handlers/` (e.g. `ingest.ts`). */
  readonly entry: string;
  /**
   * The exported function Lambda calls; one file may hold several entry points (`scan-lambda.ts`).
   * @default 'handler'
   */
  readonly handler?: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One janitor Lambda: a `NodejsFunction` bundled with the local esbuild (AWS SDK and Powertools
 * inside the bundle, minified, with source maps), its own log group with a retention, and its own
 * role that starts with no permission but writing to that log group — no AWS-managed policy.
 * Everything else is granted by the caller, one `grant*` at a time.
 */
export class JanitorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: JanitorFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `registry-janitor: ${props.description}`,
    });
    this.logGroup.grantWrite(this.role);
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(HANDLERS_DIR, props.entry),
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: JANITOR_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      // Stack traces in the logs point into lambdas/, not into the minified bundle.
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        // The SDK goes into the bundle: the versions package-lock.json pins, not the runtime's.
        bundleAwsSDK: true,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node22',
        format: OutputFormat.CJS,
        // ESM entry points where packages have them, so that esbuild can drop what is unused.
        mainFields: ['module', 'main'],
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The runtime is pinned on purpose (Node.js 22, the version the bundle targets and the project tests); ' +
        'moving to a newer runtime is a reviewed change, not something a synth should do silently.',
    });
  }
}
