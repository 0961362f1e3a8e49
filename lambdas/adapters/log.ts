import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../handlers/http-api';

/** Structured JSON logs through Powertools Logger, one line per event. */
export function powertoolsLog(serviceName: string): Log {
  const logger = new Logger({ serviceName });
  return {
    info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
    warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
    error: (message, extra) => (extra ? logger.error(message, extra) : logger.error(message)),
  };
}

/** A log that says nothing (tests that do not look at logs). */
export const silentLog: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };
