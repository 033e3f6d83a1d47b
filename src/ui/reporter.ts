/**
 * How a build tells its story on stderr (stdout is only for the result). The app reports
 * through this interface only; the CLI picks the implementation: spinners on a TTY, plain
 * lines otherwise (CI, pipes), and a silent one in tests.
 */
import ora, { type Ora } from 'ora';
import { formatMs } from './format';

export interface Reporter {
  /** A phase begins: banner and, on a TTY, a spinner. */
  phaseStart(phase: string, title: string): void;
  /** The phase ended; `ms` is its wall time. */
  phaseEnd(phase: string, ok: boolean, ms: number): void;
  info(message: string): void;
  /** Shown only with --verbose. */
  detail(message: string): void;
  warn(message: string): void;
  /** Output of a command in the build container, shown line by line behind `[prefix]`. */
  output(prefix: string, chunk: Buffer): void;
  /** Flush partial lines (end of a command's output). */
  flush(): void;
}

export interface ConsoleReporterOptions {
  stream?: NodeJS.WriteStream;
  verbose?: boolean;
  interactive?: boolean;
  /** false (--no-color) or NO_COLOR set: plain lines, no ANSI codes, no spinner. */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** https://no-color.org: NO_COLOR set to anything but the empty string turns colors off. */
export function colorWanted(options: Pick<ConsoleReporterOptions, 'color' | 'env'>): boolean {
  const env = options.env ?? process.env;
  return options.color !== false && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}


export class ConsoleReporter implements Reporter {
  private readonly stream: NodeJS.WriteStream;
  private readonly verbose: boolean;
  private readonly interactive: boolean;
  private spinner?: Ora;
  private readonly partial = new Map<string, string>();

  constructor(options: ConsoleReporterOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.verbose = options.verbose ?? false;
    const env = options.env ?? process.env;
    // The spinner is the only thing that draws colors and cursor codes: no color, no spinner.
    this.interactive = options.interactive ?? (Boolean(this.stream.isTTY) && !env.CI && colorWanted(options));
  }

  phaseStart(phase: string, title: string): void {
    this.write(`===> ${phase.toUpperCase()}`);
    if (this.interactive) {
      this.spinner = ora({ text: title, stream: this.stream }).start();
    } else {
      this.write(title);
    }
  }

  phaseEnd(phase: string, ok: boolean, ms: number): void {
    const text = `${phase} ${ok ? 'done' : 'failed'} in ${formatMs(ms)}`;
    if (this.spinner) {
      if (ok) this.spinner.succeed(text);
      else this.spinner.fail(text);
      this.spinner = undefined;
    } else {
      this.write(text);
    }
  }

  info(message: string): void {
    this.write(message);
  }

  detail(message: string): void {
    if (this.verbose) this.write(message);
  }

  warn(message: string): void {
    this.write(`warning: ${message}`);
  }

  output(prefix: string, chunk: Buffer): void {
    const text = (this.partial.get(prefix) ?? '') + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial.set(prefix, lines.pop() ?? '');
    for (const line of lines) this.write(`[${prefix}] ${line}`);
  }

  flush(): void {
    for (const [prefix, rest] of this.partial) {
      if (rest) this.write(`[${prefix}] ${rest}`);
    }
    this.partial.clear();
  }

  private write(line: string): void {
    if (this.spinner?.isSpinning) {
      this.spinner.clear();
      this.stream.write(`${line}\n`);
      this.spinner.render();
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}

/** Keeps everything, prints nothing: for tests and for --quiet callers. */
export class RecordingReporter implements Reporter {
  readonly lines: string[] = [];
  phaseStart(phase: string, title: string): void {
    this.lines.push(`start ${phase}: ${title}`);
  }
  phaseEnd(phase: string, ok: boolean): void {
    this.lines.push(`end ${phase}: ${ok ? 'ok' : 'failed'}`);
  }
  info(message: string): void {
    this.lines.push(message);
  }
  detail(message: string): void {
    this.lines.push(`detail: ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warning: ${message}`);
  }
  output(prefix: string, chunk: Buffer): void {
    this.lines.push(`[${prefix}] ${chunk.toString('utf8')}`);
  }
  flush(): void {}
}
