/**
 * Errors of the pure core. Every message says what was wrong and, where it helps, what to do.
 */
export class JanitorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An image reference that cannot be parsed; the message names the reason. */
export class ImageReferenceError extends JanitorError {}

/** A policy (flags, config file or lifecycle JSON) that is invalid; nothing was touched. */
export class PolicyError extends JanitorError {
  constructor(
    message: string,
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
  }
}

/** An ingest body or sightings file that does not have the documented shape. */
export class SightingsError extends JanitorError {}

/** Bad usage or configuration, found before anything was touched (exit code 2). */
export class UsageError extends JanitorError {}

/** What a thrown value says, for a log line or a message: an Error's message, else the value. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
