/**
 * Typed errors. Every failure a user can cause or meet has a class here with an exit code and
 * a hint saying what to do; only src/cli renders them (exit codes: docs/cli.md). Every class
 * has a default hint, so no error reaches the user without one (errors.test.ts checks).
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
  /** The build reached a server whose TLS certificate it does not trust (a TLS-intercepting proxy's CA, a private CA). */
  BuildTlsUntrusted: 54,
  ExportFailed: 62,
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Where a build failed; undefined for errors before the build starts (flags, environment). */
export type BuildPhaseName = 'prepare' | 'detect' | 'build' | 'export';

export interface GobuildErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Output of the failing step (e.g. the buildpack's), shown under the message. */
  details?: string;
}

export class GobuildError extends Error {
  readonly code: ExitCodeValue;
  readonly hint: string;
  readonly details?: string;
  override readonly cause?: unknown;
  /** Set by the build when the error leaves a phase (for --json and the message). */
  phase?: BuildPhaseName;

  constructor(message: string, code: ExitCodeValue, options: GobuildErrorOptions & { hint: string }) {
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
    super(message, ExitCode.Usage, { hint: 'Run gobuild-cnb --help, or gobuild-cnb <command> --help, for the flags and examples.', ...options });
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
    super(message, ExitCode.ImageUnavailable, {
      hint: 'Pull the image (docker pull <image>) or name one the Docker daemon has, with --pull-policy never.',
      ...options,
    });
  }
}

export class DetectFailedError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.DetectFailed, { hint: 'Point gobuild-cnb at the directory that holds go.mod (or set BP_GO_WORKDIR).', ...options });
  }
}

export class DetectError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.DetectError, { hint: "The buildpack's output above says which setting is wrong.", ...options });
  }
}

export class BuildFailedError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}, code: ExitCodeValue = ExitCode.BuildFailed) {
    super(message, code, { hint: 'The build output above says what failed. Rerun with --verbose for every command.', ...options });
  }
}

export class ExportError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.ExportFailed, { hint: 'Rerun with --verbose to see each layer as it is written.', ...options });
  }
}

export class InterruptedError extends GobuildError {
  constructor(signal: string) {
    super(`interrupted by ${signal}; the build container was removed`, ExitCode.Interrupted, {
      hint: 'Run the build again when you are ready.',
    });
  }
}

/** The Docker engine refused a request for a reason of its own (disk full, a daemon error). */
export class EngineError extends GobuildError {
  constructor(message: string, options: GobuildErrorOptions = {}) {
    super(message, ExitCode.Failure, {
      hint: "The engine's own words are above; `docker info` and the daemon log (journalctl -u docker) say more.",
      ...options,
    });
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

/** Node's errors from the file system: they name a path, so they are about the user's files. */
const PATH_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many symbolic links',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'name too long',
};

/**
 * Any thrown value as one of ours. A file-system error that names a path is the user's file
 * (exit 2, or 53 when the disk is full), never "a bug"; anything else is an InternalError.
 */
export function asGobuildError(err: unknown): GobuildError {
  if (err instanceof GobuildError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.path === 'string' && typeof e.code === 'string') {
    const what = `${e.syscall ? `${e.syscall} ` : ''}${e.path}`;
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
      return new GobuildError(`out of disk space: ${what}`, ExitCode.BuildResources, {
        hint: 'Free space on that file system (or point TMPDIR / the output elsewhere) and build again.',
        cause: err,
      });
    }
    if (PATH_ERRORS[e.code]) {
      return new UsageError(`cannot ${what}: ${PATH_ERRORS[e.code]} (${e.code})`, {
        hint: 'Check that the path exists and that you may read it (or write it, for an output), then build again.',
        cause: err,
      });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`unexpected error: ${message}`, { cause: err });
}
