import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RegistryJanitor } from '../../lib/registry-janitor';
import { janitorPropsFromContext, RegistryJanitorStack } from '../../lib/registry-janitor-stack';
import { RepositorySelection } from '../../lib/repository-selection';

/** The feature flags of cdk.json, so that the tests see the template `cdk synth` deploys. */
const CDK_JSON_CONTEXT = JSON.parse(
  readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;
/**
 * For the stacks besides the deployed one: no esbuild run, and no CloudFormation schema validation
 * (about 5 s a synth; the deployed stack's synth keeps it).
 */
const AUXILIARY = { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:validateAgainstDefaultRules': false };

function appWith(context: Record<string, unknown>): App {
  return new App({ context: { ...CDK_JSON_CONTEXT, ...context } });
}

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function statementsOfRole(template: Template, stack: Stack, role: iam.IRole): Statement[] {
  const roleId = stack.getLogicalId(role.node.defaultChild as CfnElement);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  });
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** Every statement of every policy in the template, with the logical ids of the roles it is attached to. */
function allStatements(template: Template): { roles: string[]; statement: Statement }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Statement[]).map((statement) => ({
      roles: (policy.Properties.Roles as { Ref: string }[]).map((role) => role.Ref),
      statement,
    })),
  );
}

/** The distinct actions `role` may take, sorted. */
function actionsOfRole(template: Template, stack: Stack, role: iam.IRole): string[] {
  return [...new Set(statementsOfRole(template, stack, role).flatMap(actionsOf))].sort();
}

function roleId(stack: Stack, fn: lambda.IFunction): string {
  return stack.getLogicalId(fn.role!.node.defaultChild as CfnElement);
}

/** An ARN of this stack's account and region, as the template writes it. */
function accountArn(service: string, resource: string) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        `:${service}:`,
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:${resource}`,
      ],
    ],
  };
}

const DEFAULT_SCAN_CONFIG = {
  policy: {
    unusedDays: 7,
    minAgeDays: 3,
    deleteUntagged: true,
    unusedTagged: true,
    protectTags: [],
    staleAfterHours: 6,
  },
  linkExpiryDays: 7,
};

describe('RegistryJanitorStack as the app builds it (-c notifyEmail=... -c clusters=...)', () => {
  // Prepare: one app and one synth (one esbuild run) for the whole block.
  const app = appWith({ notifyEmail: 'ops@example.com, oncall@example.com', clusters: 'prod-eu,prod-us' });
  const stack = new RegistryJanitorStack(app, 'RegistryJanitor', {
    janitor: janitorPropsFromContext(app.node),
  });
  const janitor = stack.janitor;
  const template = Template.fromStack(stack);
  const ids = {
    table: logicalId(stack, janitor.table),
    ingestSecret: logicalId(stack, janitor.ingestSecret),
    linkSecret: logicalId(stack, janitor.linkSecret),
    ingest: logicalId(stack, janitor.ingestFunction),
    api: logicalId(stack, janitor.api),
    topic: stack.getLogicalId(janitor.topic.node.defaultChild as CfnElement),
    schedule: logicalId(stack, janitor.scanScheduleFunction),
    worker: logicalId(stack, janitor.scanWorkerFunction),
    review: logicalId(stack, janitor.reviewFunction),
    deleter: logicalId(stack, janitor.deleterFunction),
    scanQueue: logicalId(stack, janitor.scanQueue),
    scanDeadLetters: logicalId(stack, janitor.scanDeadLetterQueue),
    deletionFailures: logicalId(stack, janitor.deletionFailureQueue),
  };
  // The template as JSON (CloudFormation's shape, untyped).
  const resources = template.toJSON().Resources;
  const environmentOf = (id: string) => resources[id]!.Properties.Environment.Variables;

  it('keeps sightings in one on-demand table with pk/sk, PITR, TTL on expiresAt, AWS-managed KMS, retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        SSESpecification: { SSEEnabled: true },
        GlobalSecondaryIndexes: Match.absent(),
        TableName: Match.absent(),
      },
    });
  });

  it('has Secrets Manager generate the ingest and link secrets, so that no value is in the template', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    for (const id of [ids.ingestSecret, ids.linkSecret]) {
      expect(template.toJSON().Resources[id]).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
      });
    }
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"SecretString"/);
  });

  it('runs the ingest on Node.js 22, arm64, with explicit memory and timeout, and the table and secret in its environment', () => {
    template.resourceCountIs('AWS::Lambda::Function', 5);
    expect(resources[ids.ingest]!.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 28,
      Handler: 'index.handler',
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: ids.table },
          INGEST_SECRET_ARN: { Ref: ids.ingestSecret },
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    for (const id of [ids.schedule, ids.worker, ids.review, ids.deleter]) {
      expect(resources[id]!.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    }
  });

  it('writes the ingest logs to its own log group with a retention', () => {
    const fn = template.toJSON().Resources[ids.ingest];
    const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
    expect(template.toJSON().Resources[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 90 },
    });
  });

  it('bundles the handler with the AWS SDK and Powertools inside, minified, with a source map', () => {
    const assembly = app.synth();
    const code = template.toJSON().Resources[ids.ingest].Properties.Code.S3Key as string;
    const assetDir = path.join(assembly.directory, `asset.${code.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(path.join(assetDir, 'index.js'), 'utf8');
    // Assess without printing the bundle: each check is a boolean or a short list.
    expect(
      bundle.match(/require\(["']@aws-(sdk|lambda-powertools)\/(client|lib|logger)[a-z-]*["']\)/g),
    ).toBeNull();
    expect(
      ['DynamoDBClient', 'SecretsManagerClient', 'POWERTOOLS'].filter((word) => !bundle.includes(word)),
    ).toEqual([]);
    // Minified: code on few, long lines (only template literals keep their line breaks).
    expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(1000);
    const sourceMap = JSON.parse(readFileSync(path.join(assetDir, 'index.js.map'), 'utf8')) as {
      sources: string[];
    };
    expect(sourceMap.sources.some((source) => source.endsWith('lambdas/handlers/ingest.ts'))).toBe(true);
  });

  it('routes POST /v1/sightings to the ingest function (payload 2.0)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: ids.api },
      RouteKey: 'POST /v1/sightings',
      AuthorizationType: 'NONE',
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: Match.anyValue() }]] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [ids.ingest, 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [ids.ingest, 'Arn'] },
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: ids.api }, '/*/*/v1/sightings'])] },
    });
  });

  it('serves the $default stage with throttling and JSON access logs (no headers) in a retained log group', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: ids.api },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        Format: Match.serializedJson(
          Match.objectLike({ requestId: '$context.requestId', status: '$context.status' }),
        ),
      },
    });
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/header/i);
  });

  it('encrypts the topic with its own rotated key that CloudWatch alarms may use, and enforces TLS', () => {
    const keyId = template.toJSON().Resources[ids.topic].Properties.KmsMasterKeyId['Fn::GetAtt'][0] as string;
    expect(template.toJSON().Resources[keyId]).toMatchObject({
      Type: 'AWS::KMS::Key',
      Properties: { EnableKeyRotation: true },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Effect: 'Allow',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: ids.topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  it('subscribes every notifyEmail address of the context to the topic', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const address of ['ops@example.com', 'oncall@example.com']) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: address,
        TopicArn: { Ref: ids.topic },
      });
    }
  });

  it('alarms on the topic when the ingest function fails or the API answers 5xx', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.ingest } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: ids.topic }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: Match.arrayWith([{ Name: 'ApiId', Value: { Ref: ids.api } }]),
      AlarmActions: [{ Ref: ids.topic }],
    });
  });

  it('alarms when no cluster, or a named cluster, has reported for staleAfterHours (silence breaches)', () => {
    const silence = {
      Namespace: 'RegistryJanitor',
      MetricName: 'ClusterReport',
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 6,
      DatapointsToAlarm: 6,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: ids.topic }],
      OKActions: [{ Ref: ids.topic }],
    };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...silence,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.ingest } }],
    });
    for (const cluster of ['prod-eu', 'prod-us']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...silence,
        Dimensions: Match.arrayWith([{ Name: 'Cluster', Value: cluster }]),
        AlarmDescription: Match.stringLikeRegexp(`cluster ${cluster} has not reported for 6 h`),
      });
    }
    // 5 for the ingest and clusters, 4 for the scan, 1 for the deleter.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
    expect(janitor.alarms).toHaveLength(10);
  });

  it('lets the ingest role write its logs, read and update the table and read the ingest secret, nothing more', () => {
    const statements = statementsOfRole(template, stack, janitor.ingestFunction.role!);
    const grants = statements.map((statement) => ({
      actions: actionsOf(statement).sort(),
      resource: statement.Resource,
      ...(statement.Condition ? { condition: statement.Condition } : {}),
    }));
    expect(grants).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resource: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
      },
      {
        actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
        resource: { 'Fn::GetAtt': [ids.table, 'Arn'] },
        // Sightings and heartbeats only: never a plan's items.
        condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REPO#*', 'CLUSTER'] } },
      },
      {
        actions: ['secretsmanager:GetSecretValue'],
        resource: { Ref: ids.ingestSecret },
      },
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('passes the cdk-nag AwsSolutions checks with no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.map(
      (violation) =>
        `${violation.ruleName} ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    // cdk-nag 3 reports through the returned report, not annotations; nothing else may be flagged either.
    expect(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });

  it('stays environment-agnostic: no account id or region is written into the template', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/\b\d{12}\b/);
    expect(text).not.toMatch(/\b(us|eu|ap|sa|ca|me|af)-[a-z]+-\d\b/);
  });

  it('outputs the API URL, the cluster-key and retire-cluster commands, and the topic ARN', () => {
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [ids.api, 'ApiEndpoint'] } });
    template.hasOutput('ClusterKeyCommand', {
      Value: {
        'Fn::Join': [
          '',
          ['npx registry-janitor cluster-key CLUSTER --secret-arn ', { Ref: ids.ingestSecret }],
        ],
      },
    });
    template.hasOutput('TopicArn', { Value: { Ref: ids.topic } });
    template.hasOutput('RetireClusterCommand', {
      Value: {
        'Fn::Join': [
          '',
          [
            'AWS_REGION=',
            { Ref: 'AWS::Region' },
            ' npx registry-janitor retire-cluster CLUSTER --table ',
            { Ref: ids.table },
          ],
        ],
      },
    });
  });

  it('outputs the command that starts a scan now and the two dead-letter queues', () => {
    template.hasOutput('ScanNowCommand', {
      Value: {
        'Fn::Join': [
          '',
          [
            'aws lambda invoke --function-name ',
            { Ref: ids.schedule },
            Match.stringLikeRegexp('--invocation-type Event .*/dev/null'),
          ],
        ],
      },
    });
    template.hasOutput('ScanDeadLetterQueueUrl', { Value: { Ref: ids.scanDeadLetters } });
    template.hasOutput('DeletionFailureQueueUrl', { Value: { Ref: ids.deletionFailures } });
  });

  it('keeps the documented defaults for what later functions will read', () => {
    expect(janitor.schedule.expressionString).toBe('cron(0 6,18 * * ? *)');
    expect(janitor.policy).toEqual({
      unusedDays: 7,
      minAgeDays: 3,
      deleteUntagged: true,
      unusedTagged: true,
      protectTags: [],
    });
    expect([janitor.staleAfterHours, janitor.linkExpiryDays, janitor.awsUsage]).toEqual([6, 7, true]);
    expect(janitor.repositories.toJson()).toEqual({ all: true });
    expect(JSON.parse(janitor.scanConfig)).toEqual(DEFAULT_SCAN_CONFIG);
  });

  describe('the scan', () => {
    it('fires twice a day, at 06:00 and 18:00 UTC, and retries a failed start', () => {
      template.resourceCountIs('AWS::Events::Rule', 1);
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'cron(0 6,18 * * ? *)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [ids.schedule, 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 7200 },
          }),
        ],
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [ids.schedule, 'Arn'] },
      });
    });

    it('runs both entry points of one bundle: the schedule and the worker', () => {
      expect(resources[ids.schedule]!.Properties).toMatchObject({
        Handler: 'index.scheduleHandler',
        Runtime: 'nodejs22.x',
        Timeout: 120,
      });
      expect(resources[ids.worker]!.Properties).toMatchObject({
        Handler: 'index.workerHandler',
        Runtime: 'nodejs22.x',
        Timeout: 300,
        MemorySize: 1024,
      });
      expect(resources[ids.schedule]!.Properties.Code.S3Key).toBe(
        resources[ids.worker]!.Properties.Code.S3Key,
      );
    });

    it('gives both the queue, the topic, the link secret, the API URL for review links and the policy', () => {
      for (const id of [ids.schedule, ids.worker]) {
        const environment = environmentOf(id);
        expect(environment).toMatchObject({
          TABLE_NAME: { Ref: ids.table },
          QUEUE_URL: { Ref: ids.scanQueue },
          TOPIC_ARN: { Ref: ids.topic },
          LINK_SECRET_ARN: { Ref: ids.linkSecret },
          API_URL: { 'Fn::GetAtt': [ids.api, 'ApiEndpoint'] },
          AWS_USAGE: 'true',
        });
        expect(JSON.parse(environment.SCAN_CONFIG)).toEqual(DEFAULT_SCAN_CONFIG);
      }
      // Only the schedule starts a lost deletion again.
      expect(environmentOf(ids.schedule).DELETER_FUNCTION_NAME).toEqual({ Ref: ids.deleter });
      expect(environmentOf(ids.worker).DELETER_FUNCTION_NAME).toBeUndefined();
    });

    it('fans out over an encrypted, TLS-only queue that dead-letters a task after 3 deliveries', () => {
      const workerTimeout = resources[ids.worker]!.Properties.Timeout as number;
      const queue = resources[ids.scanQueue]!.Properties;
      expect(queue).toMatchObject({
        SqsManagedSseEnabled: true,
        RedrivePolicy: {
          maxReceiveCount: 3,
          deadLetterTargetArn: { 'Fn::GetAtt': [ids.scanDeadLetters, 'Arn'] },
        },
      });
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * workerTimeout);
      template.resourceCountIs('AWS::SQS::Queue', 3);
      for (const id of [ids.scanQueue, ids.scanDeadLetters, ids.deletionFailures]) {
        expect(resources[id]!.Properties.SqsManagedSseEnabled).toBe(true);
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });

    it('feeds the worker small batches and lets it report partial batch failures', () => {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: ids.worker },
        EventSourceArn: { 'Fn::GetAtt': [ids.scanQueue, 'Arn'] },
        BatchSize: 3,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 4 },
      });
    });

    it('alarms when no scan started for 13 h, a scan could not start, a worker failed or a task was dead-lettered', () => {
      const notifies = { AlarmActions: [{ Ref: ids.topic }] };
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...notifies,
        Namespace: 'AWS/Lambda',
        MetricName: 'Invocations',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.schedule } }],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 13,
        DatapointsToAlarm: 13,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        OKActions: [{ Ref: ids.topic }],
      });
      for (const fn of [ids.schedule, ids.worker]) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...notifies,
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
      for (const queue of [ids.scanDeadLetters, ids.deletionFailures]) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          ...notifies,
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
          Statistic: 'Maximum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
    });
  });

  describe('review and deletion', () => {
    it('routes GET /v1/plans/{id} and POST /v1/plans/{id}/approve to the review function (payload 2.0)', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Route', 3);
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
      for (const [routeKey, path] of [
        ['GET /v1/plans/{id}', '/*/*/v1/plans/{id}'],
        ['POST /v1/plans/{id}/approve', '/*/*/v1/plans/{id}/approve'],
      ] as const) {
        const route = routes.find((candidate) => candidate.Properties.RouteKey === routeKey);
        const integrationId = route?.Properties.Target['Fn::Join'][1][1].Ref as string;
        expect(resources[integrationId]!.Properties).toMatchObject({
          IntegrationType: 'AWS_PROXY',
          PayloadFormatVersion: '2.0',
          IntegrationUri: { 'Fn::GetAtt': [ids.review, 'Arn'] },
        });
        template.hasResourceProperties('AWS::Lambda::Permission', {
          FunctionName: { 'Fn::GetAtt': [ids.review, 'Arn'] },
          SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: ids.api }, path])] },
        });
      }
    });

    it('tells the review function which deleter to start, and no policy', () => {
      expect(environmentOf(ids.review)).toEqual({
        TABLE_NAME: { Ref: ids.table },
        LINK_SECRET_ARN: { Ref: ids.linkSecret },
        DELETER_FUNCTION_NAME: { Ref: ids.deleter },
        POWERTOOLS_METRICS_NAMESPACE: 'RegistryJanitor',
        NODE_OPTIONS: '--enable-source-maps',
      });
      expect(resources[ids.review]!.Properties.Timeout).toBeLessThan(30);
    });

    it('runs the deleter for up to 15 minutes, invoked asynchronously: 2 retries, then an SQS on-failure destination', () => {
      expect(resources[ids.deleter]!.Properties).toMatchObject({ Handler: 'index.handler', Timeout: 900 });
      expect(JSON.parse(environmentOf(ids.deleter).SCAN_CONFIG)).toEqual(DEFAULT_SCAN_CONFIG);
      template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: ids.deleter },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ids.deletionFailures, 'Arn'] } } },
      });
    });
  });

  describe('permissions', () => {
    const statements = allStatements(template);
    const roles = {
      ingest: roleId(stack, janitor.ingestFunction),
      schedule: roleId(stack, janitor.scanScheduleFunction),
      worker: roleId(stack, janitor.scanWorkerFunction),
      review: roleId(stack, janitor.reviewFunction),
      deleter: roleId(stack, janitor.deleterFunction),
    };
    const rolesAllowed = (action: string) => [
      ...new Set(
        statements.filter(({ statement }) => actionsOf(statement).includes(action)).flatMap((s) => s.roles),
      ),
    ];

    it('gives ecr:BatchDeleteImage to the deleter role only', () => {
      expect(rolesAllowed('ecr:BatchDeleteImage')).toEqual([roles.deleter]);
    });

    it('gives the review and ingest roles no ECR action at all', () => {
      for (const role of [janitor.reviewFunction.role!, janitor.ingestFunction.role!]) {
        expect(actionsOfRole(template, stack, role).filter((action) => action.startsWith('ecr:'))).toEqual(
          [],
        );
      }
    });

    it('grants no "*" or "*:*" action, and "*" resources only to list and describe ECS, Lambda, EventBridge and Scheduler', () => {
      expect(statements.length).toBeGreaterThan(0);
      for (const { statement } of statements) {
        expect(statement.Effect).toBe('Allow');
        for (const action of actionsOf(statement)) expect(action).not.toMatch(/^\*$|^\*:\*$|:\*$/);
        if ([statement.Resource].flat().includes('*')) {
          expect(
            actionsOf(statement).every((action) =>
              /^(ecs|lambda|events|scheduler):(List|Describe)/.test(action),
            ),
          ).toBe(true);
        }
      }
    });

    it('lets the schedule function list repositories, create the plan, send tasks, publish and restart a lost deletion, nothing more', () => {
      expect(actionsOfRole(template, stack, janitor.scanScheduleFunction.role!)).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'ecr:DescribeRepositories',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
        'sqs:SendMessage',
      ]);
    });

    it('lets the worker read images, sightings, ECS and Lambda, store the plan, consume tasks and publish', () => {
      expect(actionsOfRole(template, stack, janitor.scanWorkerFunction.role!)).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'ecr:BatchGetImage',
        'ecr:DescribeImages',
        'ecs:DescribeServiceRevisions',
        'ecs:DescribeServices',
        'ecs:DescribeTaskDefinition',
        'ecs:DescribeTasks',
        'ecs:ListClusters',
        'ecs:ListServices',
        'ecs:ListTasks',
        'events:ListEventBuses',
        'events:ListRules',
        'events:ListTargetsByRule',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'lambda:GetFunction',
        'lambda:ListAliases',
        'lambda:ListFunctions',
        'lambda:ListVersionsByFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'scheduler:GetSchedule',
        'scheduler:ListSchedules',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
      ]);
    });

    it('lets the review function read and approve plans, read the link secret and invoke the deleter, nothing more', () => {
      expect(actionsOfRole(template, stack, janitor.reviewFunction.role!)).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
      ]);
      // The review function starts the deleter; the schedule starts it again for a lost deletion.
      expect(rolesAllowed('lambda:InvokeFunction').sort()).toEqual([roles.review, roles.schedule].sort());
      const invokes = statements.filter(({ statement }) =>
        actionsOf(statement).includes('lambda:InvokeFunction'),
      );
      for (const { statement } of invokes)
        expect(statement.Resource).toEqual({ 'Fn::GetAtt': [ids.deleter, 'Arn'] });
      // A plan's items only: never a cluster's sightings or heartbeat.
      const table = statements.filter(
        ({ roles: granted, statement }) =>
          granted.includes(roles.review) &&
          actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
      );
      expect(table.map(({ statement }) => [statement.Resource, statement.Condition])).toEqual([
        [
          { 'Fn::GetAtt': [ids.table, 'Arn'] },
          { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PLAN#*'] } },
        ],
      ]);
    });

    it('lets the deleter re-read and delete images, read sightings, ECS and Lambda, and record outcomes', () => {
      expect(actionsOfRole(template, stack, janitor.deleterFunction.role!)).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'ecr:BatchDeleteImage',
        'ecr:BatchGetImage',
        'ecr:DescribeImages',
        'ecs:DescribeServiceRevisions',
        'ecs:DescribeServices',
        'ecs:DescribeTaskDefinition',
        'ecs:DescribeTasks',
        'ecs:ListClusters',
        'ecs:ListServices',
        'ecs:ListTasks',
        'events:ListEventBuses',
        'events:ListRules',
        'events:ListTargetsByRule',
        'lambda:GetFunction',
        'lambda:ListAliases',
        'lambda:ListFunctions',
        'lambda:ListVersionsByFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'scheduler:GetSchedule',
        'scheduler:ListSchedules',
        'sqs:SendMessage',
      ]);
    });

    it('lets the schedule, the worker and the deleter write plan partitions only, and read any', () => {
      // The worker parses what anyone with push rights can shape: a flaw there must not reach a
      // cluster's heartbeat or sightings.
      for (const [role, partitions] of [
        [roles.schedule, ['PLAN#*', 'PLANS']],
        [roles.worker, ['PLAN#*']],
        [roles.deleter, ['PLAN#*']],
      ] as const) {
        const table = statements.filter(
          ({ roles: granted, statement }) =>
            granted.includes(role) && actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
        );
        for (const { statement } of table) {
          const writes = actionsOf(statement).filter((action) =>
            /^dynamodb:(PutItem|UpdateItem|BatchWriteItem|DeleteItem)$/.test(action),
          );
          expect([role, writes.length === 0 ? null : statement.Condition]).toEqual([
            role,
            writes.length === 0
              ? null
              : { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions } },
          ]);
          if (writes.length > 0) expect(writes).toEqual(actionsOf(statement));
        }
        expect(table.some(({ statement }) => statement.Condition !== undefined)).toBe(true);
      }
    });

    it('scopes ECS, Lambda, EventBridge and Scheduler reads to this account and region wherever IAM can', () => {
      const scoped = statements.filter(({ statement }) =>
        actionsOf(statement).some((action) =>
          [
            'ecs:ListTasks',
            'ecs:DescribeTasks',
            'lambda:GetFunction',
            'events:ListTargetsByRule',
            'scheduler:GetSchedule',
          ].includes(action),
        ),
      );
      expect(scoped.map(({ statement }) => [statement.Resource, statement.Condition ?? null])).toEqual(
        expect.arrayContaining([
          ['*', { ArnLike: { 'ecs:cluster': accountArn('ecs', 'cluster/*') } }],
          [
            [
              accountArn('ecs', 'service-revision/*'),
              accountArn('ecs', 'service/*'),
              accountArn('ecs', 'task/*'),
            ],
            null,
          ],
          [accountArn('lambda', 'function:*'), null],
          [[accountArn('events', 'rule/*'), accountArn('events', 'rule/*/*')], null],
          [accountArn('scheduler', 'schedule/*/*'), null],
        ]),
      );
    });

    it('registers the scan worker and deleter roles as ECR pull-time update exclusions', () => {
      template.resourceCountIs('AWS::ECR::PullTimeUpdateExclusion', 2);
      for (const role of [roles.worker, roles.deleter]) {
        template.hasResourceProperties('AWS::ECR::PullTimeUpdateExclusion', {
          PrincipalArn: { 'Fn::GetAtt': [role, 'Arn'] },
        });
      }
    });
  });
});

describe('cdk-nag acknowledgements', () => {
  /** The rule ids acknowledged anywhere under `scope`, as cdk-nag matches them. */
  function acknowledgedRules(scope: Stack): Set<string> {
    return new Set(
      scope.node
        .findAll()
        .flatMap((construct) => construct.node.metadata)
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
        .map((id) => id.replace(/^annotation::/i, '')),
    );
  }

  it('are each needed, and name each granular IAM5 finding exactly', () => {
    // Prepare: the same stack twice, once built while acknowledgements are dropped.
    const acknowledged = new RegistryJanitorStack(
      appWith({ ...AUXILIARY, notifyEmail: 'ops@example.com' }),
      'Acknowledged',
    );
    const acknowledge = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    const app = appWith({ ...AUXILIARY, notifyEmail: 'ops@example.com' });
    const stack = new RegistryJanitorStack(app, 'Unacknowledged', {
      janitor: janitorPropsFromContext(app.node),
    });
    acknowledge.mockRestore();
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);
    // Assess
    const findings = report.violations.map((violation) => violation.ruleName).sort();
    expect(findings).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-revision/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/*/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/*/*]',
      'AwsSolutions-L1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
    expect([...acknowledgedRules(acknowledged)].sort()).toEqual(findings);
  });

  it('acknowledge the wildcards of ECS and Lambda only on the roles that read them', () => {
    const stack = new RegistryJanitorStack(appWith(AUXILIARY), 'Scoped');
    const janitor = stack.janitor;
    const acknowledgedOn = (fn: lambda.IFunction) =>
      fn
        .role!.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
        .map((id) => id.replace(/^annotation::/i, ''));
    expect(acknowledgedOn(janitor.ingestFunction)).toEqual([]);
    expect(acknowledgedOn(janitor.reviewFunction)).toEqual([]);
    expect(acknowledgedOn(janitor.deleterFunction)).toContain('AwsSolutions-IAM5[Resource::*]');
    expect(acknowledgedOn(janitor.scanScheduleFunction)).not.toContain('AwsSolutions-IAM5[Resource::*]');
  });

  it('acknowledge APIG4 on each route the janitor adds, with how its function authenticates, not on the API', () => {
    // Prepare
    const stack = new RegistryJanitorStack(appWith(AUXILIARY), 'Routes');
    const api = stack.janitor.api;
    const reasons = (construct: { node: Stack['node'] }) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
        .filter(([id]) => id.replace(/^annotation::/i, '') === 'AwsSolutions-APIG4')
        .map(([, reason]) => reason);
    const routes = api.node.children.filter(
      (child) => child.node.id.startsWith('POST') || child.node.id.startsWith('GET'),
    );
    // Assess
    expect(routes.map((route) => route.node.id).sort()).toEqual([
      'GET--v1--plans--{id}',
      'POST--v1--plans--{id}--approve',
      'POST--v1--sightings',
    ]);
    for (const route of routes) expect(reasons(route)).toEqual([expect.stringMatching(/constant time/)]);
    expect(reasons(api)).toEqual([]);
    expect(reasons(stack.janitor)).toEqual([]);
  });

  it('still flag a route added to the API without saying how it is authenticated', () => {
    // Prepare
    const stack = new RegistryJanitorStack(appWith(AUXILIARY), 'ExtraRoute');
    stack.janitor.api.addRoutes({
      path: '/v1/extra',
      integration: new HttpLambdaIntegration('Extra', stack.janitor.reviewFunction),
    });
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);
    // Assess
    expect(
      report.violations.map((violation) => [
        violation.ruleName,
        violation.violatingResources.map((resource) => resource.constructPath),
      ]),
    ).toEqual([['AwsSolutions-APIG4', [expect.stringMatching(/\/v1--extra\b|--v1--extra/)]]]);
  });
});

describe('RegistryJanitor used twice in one stack', () => {
  // Bundled for real: two NodejsFunctions in one stack must synthesize.
  const app = appWith({ '@aws-cdk/core:validateAgainstDefaultRules': false });
  const stack = new Stack(app, 'Shared');
  const key = new kms.Key(stack, 'DataKey', { enableKeyRotation: true });
  const topic = new sns.Topic(stack, 'ExistingTopic');
  const first = new RegistryJanitor(stack, 'First');
  const second = new RegistryJanitor(stack, 'Second', {
    repositories: RepositorySelection.named('web', 'build/*'),
    encryptionKey: key,
    notificationTopic: topic,
    notificationEmails: ['team@example.com'],
    staleAfterHours: 12,
    awsUsage: false,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const ciRole = new iam.Role(stack, 'CiRole', { assumedBy: new iam.AccountRootPrincipal() });
  second.registerPullTimeExclusion(ciRole);
  second.registerPullTimeExclusion(ciRole);
  const template = Template.fromStack(stack);

  it('synthesizes two complete janitors without a physical name', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::Lambda::Function', 10);
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 4);
    for (const [type, nameProperty] of [
      ['AWS::DynamoDB::Table', 'TableName'],
      ['AWS::Lambda::Function', 'FunctionName'],
      ['AWS::SecretsManager::Secret', 'Name'],
      ['AWS::SNS::Topic', 'TopicName'],
      ['AWS::CloudWatch::Alarm', 'AlarmName'],
      ['AWS::Logs::LogGroup', 'LogGroupName'],
      ['AWS::IAM::Role', 'RoleName'],
    ] as const) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.Properties?.[nameProperty]).toBeUndefined();
      }
    }
    const apiNames = Object.values(template.findResources('AWS::ApiGatewayV2::Api')).map(
      (api) => api.Properties.Name,
    );
    expect(new Set(apiNames).size).toBe(2);
  });

  it('encrypts the table and secrets with a customer key and lets the ingest use it', () => {
    const keyArn = { 'Fn::GetAtt': [logicalId(stack, key), 'Arn'] };
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
    const kmsActions = statementsOfRole(template, stack, second.ingestFunction.role!)
      .filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify(keyArn))
      .flatMap(actionsOf);
    expect(kmsActions).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:DescribeKey']));
    expect(statementsOfRole(template, stack, first.ingestFunction.role!).flatMap(actionsOf)).not.toContain(
      'kms:Decrypt',
    );
  });

  it('sends the second janitor to the existing topic, with its own silence threshold', () => {
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Endpoint: 'team@example.com',
      TopicArn: { Ref: logicalId(stack, topic) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ClusterReport',
      EvaluationPeriods: 12,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack, second.ingestFunction) } }],
      AlarmActions: [{ Ref: logicalId(stack, topic) }],
    });
  });

  it('applies the removal policy to the data it keeps', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  it("registers a role as an ECR pull-time update exclusion once, besides each janitor's worker and deleter", () => {
    template.resourceCountIs('AWS::ECR::PullTimeUpdateExclusion', 5);
    const principals = Object.values(template.findResources('AWS::ECR::PullTimeUpdateExclusion')).map(
      (exclusion) => exclusion.Properties.PrincipalArn['Fn::GetAtt'][0],
    );
    expect(principals.filter((principal) => principal === logicalId(stack, ciRole))).toHaveLength(1);
  });

  it("limits the second janitor's deleter and scanner to its named repositories", () => {
    const deletes = statementsOfRole(template, stack, second.deleterFunction.role!).find((statement) =>
      actionsOf(statement).includes('ecr:BatchDeleteImage'),
    );
    expect(deletes?.Resource).toHaveLength(2);
    expect(deletes?.Resource).toEqual(
      expect.arrayContaining([accountArn('ecr', 'repository/web'), accountArn('ecr', 'repository/build/*')]),
    );
    expect(JSON.parse(second.scanConfig).repositories).toEqual(['web', 'build/*']);
  });

  it('reads no ECS, Lambda, EventBridge or Scheduler usage when awsUsage is off', () => {
    for (const fn of [second.scanWorkerFunction, second.deleterFunction]) {
      expect(
        actionsOfRole(template, stack, fn.role!).filter((action) =>
          /^(ecs|lambda|events|scheduler):/.test(action),
        ),
      ).toEqual([]);
    }
    const worker = template.toJSON().Resources[logicalId(stack, second.scanWorkerFunction)];
    expect(worker.Properties.Environment.Variables.AWS_USAGE).toBe('false');
  });

  it('keeps both janitors free of unacknowledged cdk-nag findings', () => {
    for (const janitor of [first, second]) {
      expect(
        new AwsSolutionsChecks().validateScope(janitor).violations.map((violation) => violation.ruleName),
      ).toEqual([]);
    }
  });
});

describe('RegistryJanitor configuration', () => {
  it.each([
    [{ staleAfterHours: 0 }, /staleAfterHours must be a whole number from 1 to 168, got 0/],
    [{ staleAfterHours: 1.5 }, /staleAfterHours must be a whole number/],
    [{ linkExpiryDays: 31 }, /linkExpiryDays must be a whole number from 1 to 30/],
    [{ policy: { unusedDays: 0 } }, /policy.unusedDays/],
    [{ policy: { unusedDays: 91 } }, /policy.unusedDays must be a whole number from 1 to 90/],
    [{ notificationEmails: ['ops'] }, /notificationEmails: 'ops' is not an e-mail address/],
    [{ clusters: ['prod eu'] }, /clusters: 'prod eu' is not a cluster name/],
    [{ scanOverdueAfterHours: 169 }, /scanOverdueAfterHours must be a whole number from 1 to 168/],
    [{ policy: { protectTags: [''] } }, /policy.protectTags.0/],
    [
      {
        repositories: RepositorySelection.named(
          ...Array.from({ length: 120 }, (_, i) => `team-${i}/a-service-with-a-long-name`),
        ),
      },
      /the scan settings \(SCAN_CONFIG\) take 4\d{3} bytes, more than the 3072 .* or by tag \(RepositorySelection.tagged\)/,
    ],
  ])('refuses %j, naming the construct', (props, message) => {
    const stack = new Stack(new App(), 'Config');
    expect(() => new RegistryJanitor(stack, 'Janitor', props)).toThrow(message);
    expect(() => new RegistryJanitor(stack, 'Janitor2', props)).toThrow(/^Config\/Janitor2: /);
  });

  it('warns when the app has no notifyEmail: digests and alarms would reach nobody', () => {
    const app = appWith(AUXILIARY);
    const stack = new RegistryJanitorStack(app, 'Silent', { janitor: janitorPropsFromContext(app.node) });
    Annotations.fromStack(stack).hasWarning('/Silent', Match.stringLikeRegexp('No notification address'));
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it.each([
    ['web, build/*', { names: ['web', 'build/*'] }],
    ['tag:janitor=managed', { tag: { key: 'janitor', value: 'managed' } }],
  ])('reads -c repositories=%s', (value, selection) => {
    const app = new App({ context: { repositories: value } });
    expect(janitorPropsFromContext(app.node).repositories?.toJson()).toEqual(selection);
  });

  it('manages every repository when the context names none', () => {
    expect(janitorPropsFromContext(new App().node).repositories).toBeUndefined();
  });
});

describe('RepositorySelection permissions', () => {
  const stack = new Stack(new App(), 'Grants');
  const roles = {
    named: new iam.Role(stack, 'NamedDeleter', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    }),
    tagged: new iam.Role(stack, 'TaggedDeleter', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    }),
    reader: new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }),
    lister: new iam.Role(stack, 'Lister', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }),
    tagLister: new iam.Role(stack, 'TagLister', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    }),
  };
  RepositorySelection.named('web', 'build/*').grantDelete(roles.named);
  RepositorySelection.tagged('janitor', 'managed').grantDelete(roles.tagged);
  RepositorySelection.named('web').grantRead(roles.reader);
  RepositorySelection.named('web').grantList(roles.lister);
  RepositorySelection.tagged('janitor', 'managed').grantList(roles.tagLister);
  const template = Template.fromStack(stack);
  const repository = (name: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':ecr:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:repository/${name}`,
      ],
    ],
  });

  it('lets the deleter call BatchDeleteImage on the named repositories only', () => {
    expect(statementsOfRole(template, stack, roles.named)).toEqual([
      {
        Action: 'ecr:BatchDeleteImage',
        Effect: 'Allow',
        Resource: [repository('web'), repository('build/*')],
      },
    ]);
  });

  it('lets the scan schedule of a tag selection read repository tags, and only list otherwise', () => {
    expect(statementsOfRole(template, stack, roles.tagLister)).toEqual([
      {
        Action: ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'],
        Effect: 'Allow',
        Resource: repository('*'),
      },
    ]);
    expect(statementsOfRole(template, stack, roles.lister)).toEqual([
      { Action: 'ecr:DescribeRepositories', Effect: 'Allow', Resource: repository('*') },
    ]);
  });

  it('limits BatchDeleteImage of a tag selection with an aws:ResourceTag condition', () => {
    expect(statementsOfRole(template, stack, roles.tagged)).toEqual([
      {
        Action: 'ecr:BatchDeleteImage',
        Effect: 'Allow',
        Resource: repository('*'),
        Condition: { StringEquals: { 'aws:ResourceTag/janitor': 'managed' } },
      },
    ]);
  });

  it('lets a reader (the worker, the deleter) read the images of the selected repositories only', () => {
    const statements = statementsOfRole(template, stack, roles.reader);
    expect(statements).toEqual([
      {
        Action: ['ecr:DescribeImages', 'ecr:BatchGetImage'],
        Effect: 'Allow',
        Resource: repository('web'),
      },
    ]);
  });

  it('lets the scan schedule list repositories and nothing else: no image is read', () => {
    expect(statementsOfRole(template, stack, roles.lister)).toEqual([
      { Action: 'ecr:DescribeRepositories', Effect: 'Allow', Resource: repository('*') },
    ]);
  });

  it.each([
    [() => RepositorySelection.named(), /at least one/],
    [() => RepositorySelection.named('web/{a,b}'), /not an ECR repository name or glob/],
    [() => RepositorySelection.named('Web'), /not an ECR repository name or glob/],
    [() => RepositorySelection.tagged('', 'x'), /needs a key and a value/],
    [() => RepositorySelection.tagged('team', 'platform-*'), /without wildcards/],
  ])('refuses selections IAM cannot enforce (%#)', (select, message) => {
    expect(select).toThrow(message);
  });
});
