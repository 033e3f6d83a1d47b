/**
 * The one place errors become text: message, the failing step's output, and a hint saying
 * what to do. A user never sees a stack trace unless GOBUILD_CNB_DEBUG=1.
 */
import { ExitCode, GobuildError, asGobuildError, type ExitCodeValue } from '../errors';

export function toGobuildError(err: unknown): GobuildError {
  return asGobuildError(err);
}

/**
 * `--json` on failure: one object on stdout, so a script reading stdout always gets JSON.
 * phase is null when the error came before the build started (flags, environment).
 */
export function renderJsonError(err: GobuildError): string {
  return `${JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint, phase: err.phase ?? null } }, null, 2)}\n`;
}

export function renderError(err: GobuildError, debug = false): string {
  const lines: string[] = [];
  if (err.details) {
    lines.push(err.details.replace(/\s+$/, ''));
    lines.push('');
  }
  lines.push(`ERROR: ${err.message}`);
  lines.push(`hint: ${err.hint || 'Rerun with --verbose for every step.'}`);
  if (debug) {
    const cause = err.cause instanceof Error ? err.cause : err;
    if (cause.stack) lines.push('', cause.stack);
  }
  return `${lines.join('\n')}\n`;
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof GobuildError ? err.code : ExitCode.Failure;
}
