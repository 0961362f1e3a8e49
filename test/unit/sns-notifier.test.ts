import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { SnsNotifier } from '../../lambdas/adapters/sns-notifier';
import { MAX_MESSAGE_BYTES, MAX_SUBJECT_CHARS, renderDigest } from '../../lambdas/core/digest';
import type { RepositorySummary } from '../../lambdas/core/plan-summary';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:registry-janitor';

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: '6a1f2c3d-0000-4000-8000-000000000000' });
});

function digestOf(repositories: number) {
  const summaries: RepositorySummary[] = Array.from({ length: repositories }, (_, i) => ({
    repository: `team-${i}/service-with-a-rather-long-name-${'x'.repeat(40)}`,
    totalImages: 100,
    candidates: 40,
    candidateBytes: 40 * 50_000_000,
    topReasons: [
      { reason: 'delete: build* beyond the newest 20', count: 30 },
      { reason: 'delete: untagged', count: 10 },
    ],
    blockedBy: [],
  }));
  return renderDigest({
    planId: 'scan-20261122T0600Z',
    createdAt: new Date('2026-11-22T06:00:00Z'),
    repositories: summaries,
    reviewUrl:
      'https://abc.execute-api.eu-west-1.amazonaws.com/v1/plans/scan-20261122T0600Z?exp=1764396000&sig=abc',
    linkExpiresAt: new Date('2026-11-29T06:00:00Z'),
    now: new Date('2026-11-22T06:01:00Z'),
  });
}

describe('SnsNotifier', () => {
  it('publishes the subject and text of a digest to the topic', async () => {
    // Act
    await new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), TOPIC).publish(digestOf(2));

    // Assess
    const [call] = sns.commandCalls(PublishCommand);
    expect(call?.args[0].input).toMatchObject({
      TopicArn: TOPIC,
      Subject: 'registry-janitor: 80 images, 3.7 GiB to review',
    });
    expect(call?.args[0].input.Message).toContain('Review and approve: https://abc.execute-api');
  });

  it('stays within SNS limits for a digest of 20,000 repositories: subject ≤ 100 characters, message ≤ 256 KiB', async () => {
    // Act
    await new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), TOPIC).publish(digestOf(20_000));

    // Assess
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.Subject!.length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
    expect(Buffer.byteLength(input.Message!)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(Buffer.byteLength(input.Message!)).toBeLessThanOrEqual(256 * 1024);
    expect(input.Message).toMatch(/… and \d+ more repositories/);
    expect(input.Message!.trimEnd().endsWith('sig=abc')).toBe(true);
  });

  it('refuses, rather than lets SNS cut, a message over the limit', async () => {
    const oversized = { ...digestOf(1), text: 'x'.repeat(MAX_MESSAGE_BYTES + 1) };
    await expect(
      new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), TOPIC).publish(oversized),
    ).rejects.toThrow("over SNS's limit");
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('keeps a subject on one line', async () => {
    await new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), TOPIC).publish({
      ...digestOf(1),
      subject: 'a\nb',
    });
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input.Subject).toBe('a b');
  });
});
