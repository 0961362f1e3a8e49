import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RenderedDigest } from '../core/digest';
import type { Notifier } from '../core/ports-scan';
import { writeWhole } from './data-dir';

/**
 * The digest in `serve`: written to `<dataDir>/outbox/<time>-<random>.txt` and `.html` (two
 * digests of one millisecond do not overwrite each other; each file appears whole, written aside
 * and renamed), and printed, as an e-mail would have been sent.
 */
export class OutboxNotifier implements Notifier {
  constructor(
    private readonly dataDir: string,
    private readonly print: (text: string) => void,
  ) {}

  async publish(digest: RenderedDigest): Promise<void> {
    const outbox = join(this.dataDir, 'outbox');
    // A digest carries a signed review link, which is enough to approve deletions: the outbox and
    // its files are its owner's only, as secrets.json is.
    mkdirSync(outbox, { recursive: true, mode: 0o700 });
    // An outbox made by an earlier version, readable by all: closing it closes its older digests.
    chmodSync(outbox, 0o700);
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    writeWhole(join(outbox, `${name}.txt`), `Subject: ${digest.subject}\n\n${digest.text}`, 0o600);
    writeWhole(join(outbox, `${name}.html`), digest.html, 0o600);
    this.print(
      `\n── digest: ${digest.subject}\n${digest.text}── written to ${join(outbox, `${name}.txt`)}\n`,
    );
  }
}
