/**
 * Ctrl-C and SIGTERM during a build: run the cleanup at once (removing the container ends the
 * running exec), then let the build throw InterruptedError at its next step. Injected so tests
 * can raise a "signal" without killing the test runner.
 */
import { InterruptedError } from '../errors';

export interface SignalSource {
  on(signal: NodeJS.Signals, handler: () => void): void;
  off(signal: NodeJS.Signals, handler: () => void): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export class Interrupts {
  private received?: NodeJS.Signals;
  private readonly cleanups: Array<() => Promise<void>> = [];
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor(private readonly source: SignalSource = process) {
    for (const signal of SIGNALS) {
      const handler = (): void => {
        if (this.received) return;
        this.received = signal;
        for (const cleanup of this.cleanups) void cleanup().catch(() => undefined);
      };
      this.handlers.set(signal, handler);
      source.on(signal, handler);
    }
  }

  onInterrupt(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  get signal(): NodeJS.Signals | undefined {
    return this.received;
  }

  /** Throws InterruptedError when a signal arrived. Call between steps. */
  check(): void {
    if (this.received) throw new InterruptedError(this.received);
  }

  dispose(): void {
    for (const [signal, handler] of this.handlers) this.source.off(signal, handler);
  }
}
