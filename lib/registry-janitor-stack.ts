import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct, Node } from 'constructs';
import { RegistryJanitorConfigError } from './errors';
import { REVIEW_PATH, RegistryJanitor, type RegistryJanitorProps, SIGHTINGS_PATH } from './registry-janitor';
import { RepositorySelection } from './repository-selection';

export interface RegistryJanitorStackProps extends StackProps {
  /**
   * The janitor's configuration.
   * @default - the defaults of `RegistryJanitor`
   */
  readonly janitor?: RegistryJanitorProps;
}

/**
 * The stack `npx cdk deploy` deploys: one `RegistryJanitor` and the outputs an operator needs.
 * Environment-agnostic: it deploys to whatever account and region the CLI's credentials name.
 */
export class RegistryJanitorStack extends Stack {
  readonly janitor: RegistryJanitor;

  constructor(scope: Construct, id: string, props: RegistryJanitorStackProps = {}) {
    super(scope, id, props);
    this.janitor = new RegistryJanitor(this, 'Janitor', props.janitor);
    if (!props.janitor?.notificationEmails?.length && !props.janitor?.notificationTopic) {
      Annotations.of(this).addWarningV2(
        'registry-janitor:noNotifyEmail',
        'No notification address: digests and alarms reach nobody. Deploy with -c notifyEmail=you@example.com.',
      );
    }
    new CfnOutput(this, 'ApiUrl', {
      description:
        `JANITOR_ENDPOINT for the reporters (they POST to this URL + ${SIGHTINGS_PATH}); ` +
        `review links in digests are this URL + ${REVIEW_PATH}?exp=...&sig=...`,
      value: this.janitor.apiUrl,
    });
    new CfnOutput(this, 'ClusterKeyCommand', {
      description: "Prints a cluster's signing key (JANITOR_CLUSTER_KEY); replace CLUSTER with its name",
      value: `npx registry-janitor cluster-key CLUSTER --secret-arn ${this.janitor.ingestSecret.secretArn}`,
    });
    new CfnOutput(this, 'RetireClusterCommand', {
      description:
        'Forgets a cluster that is gone for good, so that its silence no longer blocks deletions; replace CLUSTER with its name',
      value: `AWS_REGION=${this.region} npx registry-janitor retire-cluster CLUSTER --table ${this.janitor.table.tableName}`,
    });
    new CfnOutput(this, 'TopicArn', {
      description: 'Digests and alarms are published here',
      value: this.janitor.topic.topicArn,
    });
    new CfnOutput(this, 'ScanNowCommand', {
      description:
        'Starts a scan now, besides the schedule (one per minute: a second start in the same minute does nothing)',
      value:
        `aws lambda invoke --function-name ${this.janitor.scanScheduleFunction.functionName} ` +
        "--invocation-type Event --cli-binary-format raw-in-base64-out --payload '{}' /dev/null",
    });
    new CfnOutput(this, 'ScanDeadLetterQueueUrl', {
      description: 'Scan tasks (plan id, repository) that failed every attempt: the ScanDeadLettersAlarm',
      value: this.janitor.scanDeadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'DeletionFailureQueueUrl', {
      description: 'Approved deletions that failed every attempt (plan id, error): the DeletionFailedAlarm',
      value: this.janitor.deletionFailureQueue.queueUrl,
    });
  }
}

/**
 * The janitor's props from the app's context (`-c key=value` or `cdk.json`):
 * - `notifyEmail`: one address, several separated by commas, or a list;
 * - `repositories`: names or globs separated by commas (`web,build/*`), or `tag:KEY=VALUE`;
 *   every repository when absent;
 * - `clusters`: the clusters expected to report, each with its own silence alarm.
 */
export function janitorPropsFromContext(node: Node): RegistryJanitorProps {
  const emails = listFromContext(node, 'notifyEmail');
  const clusters = listFromContext(node, 'clusters');
  const repositories = repositoriesFromContext(listFromContext(node, 'repositories'));
  return {
    ...(emails.length > 0 ? { notificationEmails: emails } : {}),
    ...(clusters.length > 0 ? { clusters } : {}),
    ...(repositories ? { repositories } : {}),
  };
}

function repositoriesFromContext(values: string[]): RepositorySelection | undefined {
  if (values.length === 0) return undefined;
  const tag = values.length === 1 ? /^tag:([^=]+)=(.+)$/.exec(values[0]!) : null;
  if (tag) return RepositorySelection.tagged(tag[1]!, tag[2]!);
  if (values.some((value) => value.startsWith('tag:'))) {
    throw new RegistryJanitorConfigError(
      `context repositories: a tag selection is 'tag:KEY=VALUE' on its own, got '${values.join(',')}'`,
    );
  }
  return RepositorySelection.named(...values);
}

function listFromContext(node: Node, key: string): string[] {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return [];
  const items = Array.isArray(value) ? value : String(value).split(',');
  return items.map((item) => String(item).trim()).filter((item) => item !== '');
}
