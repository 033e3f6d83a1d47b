/**
 * The one place errors become text: message, the failing step's output, and a hint saying
 * what to do. A user never sees a stack trace unless GOBUILD_CNB_DEBUG=1.
 */
import { ExitCode, GobuildError, InternalError, type ExitCodeValue } from '../errors';

export function toGobuildError(err: unknown): GobuildError {
  if (err instanceof GobuildError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`unexpected error: ${message}`, { cause: err });
}

export function renderError(err: GobuildError, debug = false): string {
  const lines: string[] = [];
  if (err.details) {
    lines.push(err.details.replace(/\s+$/, ''));
    lines.push('');
  }
  lines.push(`ERROR: ${err.message}`);
  if (err.hint) lines.push(`hint: ${err.hint}`);
  if (debug) {
    const cause = err.cause instanceof Error ? err.cause : err;
    if (cause.stack) lines.push('', cause.stack);
  }
  return `${lines.join('\n')}\n`;
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof GobuildError ? err.code : ExitCode.Failure;
}
