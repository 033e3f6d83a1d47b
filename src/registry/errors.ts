/**
 * Registry failures a user meets, each saying which host and what to check. They are export
 * errors (exit 62): the image was built, it could not be delivered.
 */
import { ExportError, type GobuildErrorOptions } from '../errors';

export interface RegistryErrorOptions extends GobuildErrorOptions {
  /** host[:port] of the registry (or token service) that failed. */
  host: string;
}

export class RegistryError extends ExportError {
  readonly host: string;
  constructor(message: string, options: RegistryErrorOptions) {
    super(message, options);
    this.host = options.host;
  }
}

/** No connection, a timeout, or a TLS handshake that failed. */
export class RegistryUnreachableError extends RegistryError {}

/** The registry (or its token service) refused the credentials we had, or having none. */
export class RegistryAuthError extends RegistryError {
  /** Where the credentials came from, in words (`none`, `config.json auths`, `credential helper X`). */
  readonly credentialSource: string;
  constructor(message: string, options: RegistryErrorOptions & { credentialSource: string }) {
    super(message, options);
    this.credentialSource = options.credentialSource;
  }
}

/** One entry of the distribution API's error body `{"errors":[{code,message,detail}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** The registry answered, but not as the protocol says it should (e.g. a manifest rejected). */
export class RegistryResponseError extends RegistryError {
  readonly status: number;
  readonly errors: readonly RegistryErrorEntry[];
  constructor(message: string, options: RegistryErrorOptions & { status: number; errors: RegistryErrorEntry[] }) {
    super(message, options);
    this.status = options.status;
    this.errors = options.errors;
  }
}

/** The registry did not accept a manifest or index (unknown blob, invalid, unsupported media type). */
export class ManifestRejectedError extends RegistryResponseError {}
