import type { Progress } from '../core/ports';

/**
 * A progress line on a terminal's stderr, redrawn at most every `intervalMs`; nothing at all
 * when stderr is not a TTY or `CI` is set (logs stay clean), and never on stdout.
 */
export function terminalProgress(
  stream: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
  intervalMs = 200,
): { report: (progress: Progress) => void; done: () => void } {
  const enabled = stream.isTTY === true && !env.CI;
  let last = 0;
  let shown = false;
  return {
    report(progress) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      const of = progress.total === undefined ? '' : `/${progress.total}`;
      stream.write(`\r\x1b[2K${progress.phase}: ${progress.done}${of}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
