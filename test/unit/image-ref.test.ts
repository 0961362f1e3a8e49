import { ImageReferenceError } from '../../lambdas/core/errors';
import { formatImageReference, parseImageReference } from '../../lambdas/core/image-ref';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['docker.io/nginx:1', { registry: 'docker.io', repository: 'library/nginx', tag: '1' }],
    ['index.docker.io/library/nginx:1', { registry: 'docker.io', repository: 'library/nginx', tag: '1' }],
    ['registry-1.docker.io:443/nginx:1', { registry: 'docker.io', repository: 'library/nginx', tag: '1' }],
    ['Registry-1.Docker.IO/team/app:2', { registry: 'docker.io', repository: 'team/app', tag: '2' }],
    [`${ECR}/web:1.4.2`, { registry: ECR, repository: 'web', tag: '1.4.2' }],
    [`${ECR}/team/web@${DIGEST}`, { registry: ECR, repository: 'team/web', digest: DIGEST }],
    [`${ECR}/web:1.4.2@${DIGEST}`, { registry: ECR, repository: 'web', tag: '1.4.2', digest: DIGEST }],
    [`docker-pullable://${ECR}/web@${DIGEST}`, { registry: ECR, repository: 'web', digest: DIGEST }],
    [`docker://nginx@${DIGEST}`, { registry: 'docker.io', repository: 'library/nginx', digest: DIGEST }],
    ['localhost:5000/app:dev', { registry: 'localhost:5000', repository: 'app', tag: 'dev' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['Registry.Example.COM/app:v1', { registry: 'registry.example.com', repository: 'app', tag: 'v1' }],
    ['ghcr.io/org/team/app:v1.0_rc-1', { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1.0_rc-1' }],
    [DIGEST, { registry: '', repository: '', digest: DIGEST }],
  ])('normalises %s', (input, expected) => {
    // Act
    const ref = parseImageReference(input);

    // Assess
    expect(ref).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['Nginx:1', "invalid repository component 'Nginx'"],
    ['nginx:', "invalid tag ''"],
    ['nginx:bad/tag', "invalid registry host 'nginx:bad'"],
    [`nginx@sha256:${'A'.repeat(64)}`, 'invalid digest'],
    ['nginx@sha256:abc', 'invalid digest'],
    ['sha256:abc', 'not a valid digest'],
    ['web app:1', 'whitespace'],
    ['registry.example.com/', "invalid repository component ''"],
    ['a//b', "invalid repository component ''"],
    [`reg.io/${'a'.repeat(300)}`, 'longer than 255'],
    ['-bad.host/app', 'invalid registry host'],
  ])('rejects %j with its reason', (input, reason) => {
    // Act / Assess
    expect(() => parseImageReference(input)).toThrow(ImageReferenceError);
    expect(() => parseImageReference(input)).toThrow(reason);
  });

  it('formats a normalised reference back to canonical text', () => {
    expect(formatImageReference(parseImageReference(`docker-pullable://nginx:1@${DIGEST}`))).toBe(
      `docker.io/library/nginx:1@${DIGEST}`,
    );
    expect(formatImageReference(parseImageReference(DIGEST))).toBe(DIGEST);
  });
});
