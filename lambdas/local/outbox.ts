import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
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
    mkdirSync(outbox, { recursive: true });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    writeWhole(join(outbox, `${name}.txt`), `Subject: ${digest.subject}\n\n${digest.text}`);
    writeWhole(join(outbox, `${name}.html`), digest.html);
    this.print(
      `\n── digest: ${digest.subject}\n${digest.text}── written to ${join(outbox, `${name}.txt`)}\n`,
    );
  }
}
