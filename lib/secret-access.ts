import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/**
 * Lets `grantee` read the value of `secret` and nothing else (`Secret.grantRead` adds
 * `secretsmanager:DescribeSecret`, which the functions never call); with a customer-managed key,
 * its use through Secrets Manager only, as `grantRead` grants it.
 */
export function grantSecretValue(secret: secretsmanager.Secret, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['secretsmanager:GetSecretValue'],
    resourceArns: [secret.secretArn],
  });
  secret.encryptionKey?.grantDecrypt(
    new kms.ViaServicePrincipal(
      `secretsmanager.${Stack.of(secret).region}.amazonaws.com`,
      grantee.grantPrincipal,
    ),
  );
}
