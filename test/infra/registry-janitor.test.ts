import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
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
  };

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
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 15,
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: { Ref: ids.table },
          INGEST_SECRET_ARN: { Ref: ids.ingestSecret },
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
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

  it('routes POST /v1/sightings to the ingest function (payload 2.0), and nothing else', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
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
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    expect(janitor.alarms).toHaveLength(5);
  });

  it('lets the ingest role write its logs, read and update the table and read the ingest secret, nothing more', () => {
    const statements = statementsOfRole(template, stack, janitor.ingestFunction.role!);
    const grants = statements.map((statement) => ({
      actions: actionsOf(statement).sort(),
      resource: statement.Resource,
    }));
    expect(grants).toEqual([
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resource: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
      },
      {
        actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resource: { 'Fn::GetAtt': [ids.table, 'Arn'] },
      },
      {
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
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

  it('grants no ECR action, no wildcard action and nothing on "*" anywhere in the stack', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
    );
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      for (const action of actionsOf(statement)) {
        expect(action).not.toMatch(/^ecr:|\*/);
      }
      expect([statement.Resource].flat()).not.toContain('*');
    }
    template.resourceCountIs('AWS::ECR::PullTimeUpdateExclusion', 0);
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

  it('outputs the API URL, the cluster-key command with the secret ARN, and the topic ARN', () => {
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
  });
});

describe('cdk-nag acknowledgements', () => {
  it('are each needed: without them AwsSolutions reports exactly APIG4, L1 and SMG4', () => {
    // Prepare: the same stack, built while acknowledgements are dropped.
    const acknowledge = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    const app = appWith({ ...AUXILIARY, notifyEmail: 'ops@example.com' });
    const stack = new RegistryJanitorStack(app, 'Unacknowledged', {
      janitor: janitorPropsFromContext(app.node),
    });
    acknowledge.mockRestore();
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);
    // Assess
    expect(report.violations.map((violation) => violation.ruleName).sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-L1',
      'AwsSolutions-SMG4',
    ]);
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
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const ciRole = new iam.Role(stack, 'CiRole', { assumedBy: new iam.AccountRootPrincipal() });
  second.registerPullTimeExclusion(ciRole);
  second.registerPullTimeExclusion(ciRole);
  const template = Template.fromStack(stack);

  it('synthesizes two complete janitors without a physical name', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::Lambda::Function', 2);
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

  it('registers a role as an ECR pull-time update exclusion once', () => {
    template.resourceCountIs('AWS::ECR::PullTimeUpdateExclusion', 1);
    template.hasResourceProperties('AWS::ECR::PullTimeUpdateExclusion', {
      PrincipalArn: { 'Fn::GetAtt': [logicalId(stack, ciRole), 'Arn'] },
    });
  });
});

describe('RegistryJanitor configuration', () => {
  it.each([
    [{ staleAfterHours: 0 }, /staleAfterHours must be a whole number from 1 to 168, got 0/],
    [{ staleAfterHours: 1.5 }, /staleAfterHours must be a whole number/],
    [{ linkExpiryDays: 31 }, /linkExpiryDays must be a whole number from 1 to 30/],
    [{ policy: { unusedDays: 0 } }, /policy.unusedDays/],
    [{ notificationEmails: ['ops'] }, /notificationEmails: 'ops' is not an e-mail address/],
    [{ clusters: ['prod eu'] }, /clusters: 'prod eu' is not a cluster name/],
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

describe('RepositorySelection permissions (for the scanner and deleter to come)', () => {
  const stack = new Stack(new App(), 'Grants');
  const roles = {
    named: new iam.Role(stack, 'NamedDeleter', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    }),
    tagged: new iam.Role(stack, 'TaggedDeleter', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    }),
    reader: new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }),
  };
  RepositorySelection.named('web', 'build/*').grantDelete(roles.named);
  RepositorySelection.tagged('janitor', 'managed').grantDelete(roles.tagged);
  RepositorySelection.named('web').grantRead(roles.reader);
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

  it('lets the scanner list repositories and read the images of the selected ones, never delete', () => {
    const statements = statementsOfRole(template, stack, roles.reader);
    expect(statements).toEqual([
      {
        Action: ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'],
        Effect: 'Allow',
        Resource: repository('*'),
      },
      {
        Action: ['ecr:DescribeImages', 'ecr:BatchGetImage', 'ecr:ListImages'],
        Effect: 'Allow',
        Resource: repository('web'),
      },
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
