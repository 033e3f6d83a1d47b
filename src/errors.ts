/**
 * Typed errors. Every failure a user can cause or meet has a class here with an exit code and
 * a hint saying what to do; only src/cli renders them (see docs/exit-codes.md).
 * Exit-code bands follow the lifecycle's (platform/exit.go): detect 20-21, build 51, export 62.
 */
export const ExitCode = {
  Failure: 1,
  Usage: 2,
  DockerUnavailable: 3,
  ImageUnavailable: 4,
  /** Another build holds the cache volume (gave up waiting), or it cannot be cleared. */
  CacheBusy: 5,
  DetectFailed: 20,
  DetectError: 21,
  BuildFailed: 51,
  /** The build could not fetch modules or a toolchain: network, DNS, TLS trust, proxy, auth, missing module. */
  BuildFetchFailed: 52,
  /** The build ran out of a resource: disk space, memory (killed). */
  BuildResources: 53,
  ExportFailed: 62,
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface GobuildErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Output of the failing step (e.g. the buildpack's), shown under the message. */
  details?: string;
}

export class GobuildError extends Error {
  readonly code: ExitCodeValue;
  readonly hint?: string;
  readonly details?: string;
  override readonly cause?: unknown;

  constructor(message: string, code: ExitCodeValue, options: GobuildErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    this.cause = options.cause;
  }
}

export class UsageError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.Usage, options);
  }
}

export class DockerUnavailableError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.DockerUnavailable, {
      hint:
        'Start a Docker engine (on Debian: `bash scripts/setup-docker.sh`, or `sudo systemctl start docker`), ' +
        'or point DOCKER_HOST at one (e.g. DOCKER_HOST=tcp://127.0.0.1:2375).',
      ...options,
    });
  }
}

export class ImageUnavailableError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.ImageUnavailable, options);
  }
}

export class DetectFailedError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.DetectFailed, options);
  }
}

export class DetectError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.DetectError, options);
  }
}

export class BuildFailedError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.BuildFailed, options);
  }
}

export class ExportError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.ExportFailed, options);
  }
}

export class InterruptedError extends GobuildError {
  constructor(signal: string) {
    super(`interrupted by ${signal}; the build container was removed`, ExitCode.Interrupted);
  }
}

/** A bug of ours, not the user's: rendered with a request to report it. */
export class InternalError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.Failure, {
      hint: 'This looks like a bug in gobuild-cnb. Please report it with the output of --verbose.',
      ...options,
    });
  }
}
