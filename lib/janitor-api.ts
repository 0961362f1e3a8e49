import { Names, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface JanitorApiProps {
  readonly throttle: apigwv2.ThrottleSettings;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** What API Gateway writes per request. No headers: the signature header is a credential for 300 s. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
};

/** Why no API Gateway authoriser fronts a route (the rest of each route's APIG4 reason). */
const NO_AUTHORISER =
  'Reporters in Kubernetes clusters hold no AWS credentials, and review links are opened from an e-mail: ' +
  'an IAM, JWT or user-pool authoriser would add a second credential to distribute and no protection the ' +
  'signature does not give.';

/**
 * The janitor's HTTP API (API Gateway v2): one `$default` stage, throttled, with JSON access logs
 * in a log group with a retention. Each route is a Lambda proxy (payload 2.0) that authenticates
 * its own requests by signature: sightings by the cluster's HMAC, review links by theirs.
 */
export class JanitorApi extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  /** The base URL, without a trailing slash. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: JanitorApiProps) {
    super(scope, id);
    this.httpApi = new apigwv2.HttpApi(this, 'Http', {
      // Unique per construct path, so that two janitors in one account are told apart in the console.
      apiName: Names.uniqueResourceName(this, { maxLength: 128, separator: '-' }),
      description: 'registry-janitor: signed sightings from clusters, signed review links',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.url = this.httpApi.apiEndpoint;
  }

  /**
   * Routes `method path` to `handler` (Lambda proxy, payload format 2.0). The route has no API
   * Gateway authoriser: `authentication` says how `handler` itself authenticates each request, and
   * is the reason given for cdk-nag's APIG4 on this route alone, so that a route added any other
   * way still fails the checks.
   */
  addRoute(
    method: apigwv2.HttpMethod,
    path: string,
    id: string,
    handler: lambda.IFunction,
    authentication: string,
  ): void {
    const routes = this.httpApi.addRoutes({
      path,
      methods: [method],
      integration: new HttpLambdaIntegration(`${id}Integration`, handler),
    });
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: `${authentication} ${NO_AUTHORISER}`,
      });
    }
  }
}
