/**
 * A one-line description of an AWS SDK error that says what to do: the missing permission for
 * AccessDenied, the setting for missing credentials or region. Never includes secrets.
 */
export function describeAwsError(error: unknown, action: string, resource?: string): string {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const on = resource === undefined ? '' : ` on ${resource}`;
  switch (name) {
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'UnauthorizedOperation':
      return `access denied: the credentials lack ${action}${on} (${message})`;
    case 'CredentialsProviderError':
      return `no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (${message})`;
    case 'RepositoryNotFoundException':
      return `repository${on === '' ? '' : ` ${resource}`} does not exist (${message})`;
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
      return `the AWS credentials were refused: ${name} (${message})`;
    default:
      return `${action}${on} failed: ${name}: ${message}`;
  }
}
