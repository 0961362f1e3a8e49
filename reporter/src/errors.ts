/**
 * Errors of the in-cluster reporter. Configuration problems are `UsageError`s (exit code 2, before
 * anything was read or sent); what fails while listing or sending is a run-time failure (exit 1).
 */
import { JanitorError, UsageError } from '../../lambdas/core/errors';

/** A missing or invalid environment variable, flag or Kubernetes configuration (exit code 2). */
export class ReporterConfigError extends UsageError {}

/** The Kubernetes API refused or failed a list request; `status` is undefined for network errors. */
export class KubeApiError extends JanitorError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The ingest endpoint refused a body, or could not be reached after every retry. */
export class IngestError extends JanitorError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
