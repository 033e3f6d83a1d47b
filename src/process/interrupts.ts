/**
 * Ctrl-C, SIGTERM and SIGHUP (terminal closed, ssh dropped) during a build: run the cleanup at
 * once (removing the container ends the running exec), and make the build's current step
 * throw InterruptedError (race()), so the build stops within a second or two in every phase.
 * A second signal ends the process at once, without waiting for the cleanup: the build
 * container then ends by itself when our connection to it closes (see build-container.ts).
 * Injected so tests can raise a "signal" without killing the test runner.
 */
import { ExitCode, InterruptedError } from '../errors';

export interface SignalSource {
  on(signal: NodeJS.Signals, handler: () => void): void;
  off(signal: NodeJS.Signals, handler: () => void): void;
  /** process.exit; absent in tests. */
  exit?(code: number): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * After an interrupted build has cleaned up and its error was printed, work that the signal
 * cut short (a layer being written, an upload) must not keep the process alive.
 */
const EXIT_AFTER_INTERRUPT_MS = 200;

export class Interrupts {
  private received?: NodeJS.Signals;
  private readonly cleanups: Array<() => Promise<void>> = [];
  private readonly aborts: Array<(signal: NodeJS.Signals) => void> = [];
  private readonly waiters = new Set<(err: InterruptedError) => void>();
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly source: SignalSource = process) {
    for (const signal of SIGNALS) {
      const handler = (): void => {
        if (this.received) {
          this.abort(signal);
          return;
        }
        this.received = signal;
        for (const cleanup of this.cleanups) void cleanup().catch(() => undefined);
        for (const reject of this.waiters) reject(new InterruptedError(signal));
        this.waiters.clear();
      };
      this.handlers.set(signal, handler);
      source.on(signal, handler);
    }
  }

  onInterrupt(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** Synchronous last words on a second signal (e.g. remove the temp dir), before the exit. */
  onAbort(abort: (signal: NodeJS.Signals) => void): void {
    this.aborts.push(abort);
  }

  get signal(): NodeJS.Signals | undefined {
    return this.received;
  }

  /** Throws InterruptedError when a signal arrived. Call between steps. */
  check(): void {
    if (this.received) throw new InterruptedError(this.received);
  }

  /**
   * The step's result, or InterruptedError as soon as a signal arrives (the step itself may go
   * on for a moment; its later failure is ignored).
   */
  race<T>(step: Promise<T>): Promise<T> {
    step.catch(() => undefined);
    if (this.received) return Promise.reject(new InterruptedError(this.received));
    let stopWaiting: ((err: InterruptedError) => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      stopWaiting = reject;
      this.waiters.add(reject);
    });
    interrupted.catch(() => undefined);
    return Promise.race([step, interrupted]).finally(() => {
      if (stopWaiting) this.waiters.delete(stopWaiting);
    });
  }

  /** Called once the interrupted build has cleaned up: the process ends shortly, whatever is still running. */
  exitSoon(): void {
    const exit = this.source.exit?.bind(this.source);
    if (!this.received || !exit) return;
    setTimeout(() => exit(process.exitCode === undefined ? ExitCode.Interrupted : Number(process.exitCode)), EXIT_AFTER_INTERRUPT_MS).unref();
  }

  private abort(signal: NodeJS.Signals): void {
    for (const abort of this.aborts) {
      try {
        abort(signal);
      } catch {
        // best effort: we are leaving
      }
    }
    this.source.exit?.(ExitCode.Interrupted);
  }

  dispose(): void {
    for (const [signal, handler] of this.handlers) this.source.off(signal, handler);
  }
}
