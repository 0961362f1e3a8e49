import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutboxNotifier } from '../../lambdas/local/outbox';

const digest = (subject: string) => ({
  subject,
  text: `${subject} text\n`,
  html: `<p>${subject}</p>`,
  allClean: false,
});

describe('OutboxNotifier', () => {
  afterEach(() => jest.useRealTimers());

  it('keeps two digests of the same millisecond apart, each file whole, nothing left aside', async () => {
    // Prepare: a clock that does not move.
    jest.useFakeTimers({ now: new Date('2026-11-30T18:00:00.000Z') });
    const dataDir = mkdtempSync(join(tmpdir(), 'janitor-outbox-'));
    const outbox = new OutboxNotifier(dataDir, () => undefined);

    // Act
    await outbox.publish(digest('first'));
    await outbox.publish(digest('second'));

    // Assess
    const files = readdirSync(join(dataDir, 'outbox')).sort();
    expect(files).toHaveLength(4);
    expect(files.every((file) => /^2026-11-30T18-00-00-000Z-[0-9a-f]{6}\.(txt|html)$/.test(file))).toBe(true);
    const texts = files
      .filter((file) => file.endsWith('.txt'))
      .map((file) => readFileSync(join(dataDir, 'outbox', file), 'utf8'));
    expect(texts.sort()).toEqual(['Subject: first\n\nfirst text\n', 'Subject: second\n\nsecond text\n']);
  });

  it('keeps the digests, which carry signed review links, readable by their owner only', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'janitor-outbox-'));
    const umask = process.umask(0o022);
    try {
      await new OutboxNotifier(dataDir, () => undefined).publish(digest('private'));
    } finally {
      process.umask(umask);
    }
    const outbox = join(dataDir, 'outbox');
    expect(statSync(outbox).mode & 0o777).toBe(0o700);
    // One made open by an earlier version is closed.
    chmodSync(outbox, 0o755);
    await new OutboxNotifier(dataDir, () => undefined).publish(digest('again'));
    expect(statSync(outbox).mode & 0o777).toBe(0o700);
    for (const file of readdirSync(outbox)) expect(statSync(join(outbox, file)).mode & 0o777).toBe(0o600);
  });
});
