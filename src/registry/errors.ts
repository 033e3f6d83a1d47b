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

/**
 * The error for a request that never got an HTTP answer, with a hint fitting the cause.
 * `tried` says over what: "HTTPS", or "HTTPS and plain HTTP" for insecure hosts.
 */
export function unreachableRegistry(error: NodeJS.ErrnoException, host: string, tried: string): RegistryUnreachableError {
  const code = error.code ?? '';
  let why = error.message;
  let hint: string;
  if (code === 'ECONNREFUSED') {
    why = 'connection refused';
    hint = `Nothing listens on ${host}: check that the registry is running and the host and port in the image name (-t).`;
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    why = 'the name does not resolve';
    hint = `Check the spelling of ${host} and your DNS settings.`;
  } else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    why = `its TLS certificate is not trusted (${code})`;
    hint = `Trust its CA with NODE_EXTRA_CA_CERTS=<ca.pem>, or pass --insecure-registry ${host} to skip verification.`;
  } else if (code === 'EPROTO' || code.startsWith('ERR_SSL') || /wrong version number/i.test(error.message)) {
    why = 'the TLS handshake failed';
    hint = `It may speak plain HTTP only. If you trust the network, pass --insecure-registry ${host}.`;
  } else if (['ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) {
    hint = `Check that ${host} is reachable from this machine (network, firewall).`;
  } else {
    hint = `Check that ${host} is a container registry and reachable from this machine.`;
  }
  return new RegistryUnreachableError(`cannot reach registry ${host} over ${tried}: ${why}`, { host, hint, cause: error });
}
