import { JanitorError } from '../core/errors';

/** A registry could not be read or answered something the adapter cannot trust. */
export class RegistryReadError extends JanitorError {}

/** Credentials, region or endpoint are missing or refused. */
export class RegistryAccessError extends JanitorError {}

/**
 * ECS or Lambda could not be read under `--aws-usage` (access denied, throttled beyond retries,
 * network, an answer that cannot be trusted): the images they use cannot be ruled out.
 */
export class AwsUsageReadError extends JanitorError {}
