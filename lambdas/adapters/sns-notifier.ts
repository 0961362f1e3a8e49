import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { MAX_MESSAGE_BYTES, MAX_SUBJECT_CHARS, type RenderedDigest } from '../core/digest';
import type { Notifier } from '../core/ports-scan';

/**
 * Publishes digests to an SNS topic (e-mail subscriptions get the text). The core renders
 * within SNS's limits (subject 100 characters, 256 KiB); this checks them once more rather
 * than let SNS cut a message.
 */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(digest: RenderedDigest): Promise<void> {
    const subject = digest.subject.replace(/[\r\n]+/g, ' ').slice(0, MAX_SUBJECT_CHARS);
    if (Buffer.byteLength(digest.text) > MAX_MESSAGE_BYTES) {
      throw new RangeError(`digest of ${Buffer.byteLength(digest.text)} bytes is over SNS's limit`);
    }
    await this.client.send(
      new PublishCommand({ TopicArn: this.topicArn, Subject: subject, Message: digest.text }),
    );
  }
}
