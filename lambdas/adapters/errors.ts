import { JanitorError } from '../core/errors';

/** A registry could not be read or answered something the adapter cannot trust. */
export class RegistryReadError extends JanitorError {}

/** Credentials, region or endpoint are missing or refused. */
export class RegistryAccessError extends JanitorError {}
