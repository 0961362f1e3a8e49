import { mayBeOwnHost } from '../../lambdas/core/registry-hosts';

const ECR = new Set([
  '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  '123456789012.dkr-ecr.us-east-1.on.aws',
]);
const LOCAL = new Set(['127.0.0.1:5000']);

describe('mayBeOwnHost', () => {
  it.each([
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com', ECR, true],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com:443', ECR, true],
    ['123456789012.dkr-ecr-fips.us-east-1.on.aws', ECR, true],
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', ECR, true],
    ['999999999999.dkr.ecr.us-east-1.amazonaws.com', ECR, false],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', ECR, false],
    ['docker.io', ECR, false],
    ['ghcr.io', LOCAL, false],
    ['europe-docker.pkg.dev', LOCAL, false],
    ['registry.internal:5000', LOCAL, true],
    ['mirror.corp.example.com', ECR, true],
    ['anything', undefined, true],
  ])('%s for %j: %s', (host, own, expected) => {
    expect(mayBeOwnHost(host, own)).toBe(expected);
  });
});
