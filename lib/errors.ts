import type { IConstruct } from 'constructs';

/**
 * A `RegistryJanitor` configuration that cannot be deployed. The message names the construct path
 * (when there is one) and what to change; it is thrown while the app is built, before anything is
 * synthesized or deployed.
 */
export class RegistryJanitorConfigError extends Error {
  constructor(message: string, scope?: IConstruct) {
    super(scope ? `${scope.node.path}: ${message}` : message);
    this.name = 'RegistryJanitorConfigError';
  }
}
