/**
 * Secrets stay secret (issue #10 item 5). The value of every build env variable (-e, --env-file,
 * project.toml) that is not a known configuration setting is a secret: wherever it would be
 * shown (build output, --verbose, --json, errors, image labels) it becomes `[redacted:NAME]`.
 * Configuration (BP_*, GO*, CGO_*) is shown as written, except names that say they hold a
 * credential (TOKEN, SECRET, PASSWORD, KEY, AUTH, ...). URL userinfo (`https://user:pass@host`)
 * is masked in every text. Values shorter than MIN_SECRET_LENGTH are not searched for: they
 * would garble the output and cannot be secret anyway. docs/cli.md "Secrets" says the same.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Reporter } from './reporter';
import { GobuildError } from '../errors';

export const MIN_SECRET_LENGTH = 4;

const CONFIGURATION_NAME = /^(BP_|GO|CGO_)/;
const CREDENTIAL_WORD = /TOKEN|SECRET|PASSW|PASSPHRASE|KEY|AUTH|CREDENTIAL|COOKIE|SESSION/;

/** True when a build env variable's value is configuration, shown as written. */
export function isConfigurationSetting(name: string): boolean {
  return CONFIGURATION_NAME.test(name) && !CREDENTIAL_WORD.test(name);
}

// scheme://userinfo@ : the userinfo is everything up to the @ that has no /, whitespace or quote.
const URL_USERINFO = /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^\s/@"'<>`]+)@/g;
/** ssh://user@host names a login, not a secret (the key is elsewhere): it stays readable. */
const maskUserinfo = (_: string, scheme: string, userinfo: string): string =>
  scheme.toLowerCase() === 'ssh://' && !userinfo.includes(':') ? `${scheme}${userinfo}@` : `${scheme}${MASKED_USERINFO}@`;
export const MASKED_USERINFO = '[redacted]';

interface Pattern {
  text: string;
  name: string;
}

interface Interval {
  start: number;
  end: number;
  names: string[];
}

export class Redactor {
  private readonly patterns: Pattern[];
  /** Longest pattern: how much of a chunk's end may be the start of a secret. */
  readonly maxPatternLength: number;

  constructor(secrets: ReadonlyArray<{ name: string; value: string }>) {
    const patterns = new Map<string, Pattern>();
    const add = (text: string, name: string): void => {
      if (text.length >= MIN_SECRET_LENGTH && !text.includes('\n') && !patterns.has(text)) patterns.set(text, { text, name });
    };
    for (const { name, value } of secrets) {
      add(value, name);
      // As JSON shows it (a label, --json) and line by line (output is read line by line).
      add(JSON.stringify(value).slice(1, -1), name);
      for (const line of value.split(/\r?\n/)) add(line, name);
    }
    this.patterns = [...patterns.values()];
    this.maxPatternLength = Math.max(0, ...this.patterns.map((p) => p.text.length));
  }

  /**
   * The secrets of a build: the values of every env variable that is not configuration, plus
   * `more` (the secret values of service bindings, src/app/bindings.ts bindingSecrets).
   */
  static forBuildEnv(env: ReadonlyArray<{ name: string; value: string }>, more: ReadonlyArray<{ name: string; value: string }> = []): Redactor {
    return new Redactor([...env.filter((v) => !isConfigurationSetting(v.name)), ...more]);
  }

  get hasSecrets(): boolean {
    return this.patterns.length > 0;
  }

  /** Every occurrence of every secret, overlapping ones merged into one interval. */
  private intervals(text: string): Interval[] {
    const found: Interval[] = [];
    for (const { text: secret, name } of this.patterns) {
      for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
        found.push({ start: at, end: at + secret.length, names: [name] });
      }
    }
    found.sort((a, b) => a.start - b.start || b.end - a.end);
    const merged: Interval[] = [];
    for (const next of found) {
      const last = merged[merged.length - 1];
      if (last && next.start < last.end) {
        last.end = Math.max(last.end, next.end);
        if (!last.names.includes(next.names[0])) last.names.push(next.names[0]);
      } else {
        merged.push({ ...next, names: [...next.names] });
      }
    }
    return merged;
  }

  redact(text: string): string {
    let out = '';
    let from = 0;
    for (const { start, end, names } of this.intervals(text)) {
      out += `${text.slice(from, start)}[redacted:${names.join(',')}]`;
      from = end;
    }
    return (out + text.slice(from)).replace(URL_USERINFO, maskUserinfo);
  }

  /** Every string inside a JSON-like value, redacted (object keys included). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.redact(k), this.redactDeep(v)])) as T;
    }
    return value;
  }

  /**
   * Where a long line may be cut without cutting a secret: far enough from the end that no
   * secret can start after the cut and end in the next chunk, never inside an occurrence.
   */
  safeCut(text: string): number {
    let cut = Math.max(0, text.length - Math.max(0, this.maxPatternLength - 1));
    const inside = this.intervals(text).find((i) => i.start < cut && cut < i.end);
    if (inside) cut = inside.start > 0 ? inside.start : inside.end;
    return cut;
  }
}

/**
 * Redacts a stream that arrives in chunks (a secret may be split between two): whole lines
 * are released; a line longer than `maxPending` is released up to a safe cut.
 */
export class StreamRedactor {
  private pending = '';

  constructor(
    private readonly redactor: Redactor,
    private readonly maxPending = 64 * 1024,
  ) {}

  push(text: string): string {
    this.pending += text;
    let cut = this.pending.lastIndexOf('\n') + 1;
    if (cut === 0 && this.pending.length > this.maxPending) cut = this.redactor.safeCut(this.pending);
    const ready = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut);
    return this.redactor.redact(ready);
  }

  end(): string {
    const rest = this.pending;
    this.pending = '';
    return this.redactor.redact(rest);
  }
}

/** A Reporter that redacts everything before the wrapped one shows it. */
export class RedactingReporter implements Reporter {
  private readonly streams = new Map<string, { decoder: StringDecoder; redactor: StreamRedactor }>();

  constructor(
    private readonly inner: Reporter,
    private readonly redactor: Redactor,
  ) {}

  phaseStart(phase: string, title: string): void {
    this.inner.phaseStart(phase, this.redactor.redact(title));
  }
  phaseEnd(phase: string, ok: boolean, ms: number): void {
    this.inner.phaseEnd(phase, ok, ms);
  }
  info(message: string): void {
    this.inner.info(this.redactor.redact(message));
  }
  detail(message: string): void {
    this.inner.detail(this.redactor.redact(message));
  }
  warn(message: string): void {
    this.inner.warn(this.redactor.redact(message));
  }

  output(prefix: string, chunk: Buffer): void {
    let stream = this.streams.get(prefix);
    if (!stream) {
      stream = { decoder: new StringDecoder('utf8'), redactor: new StreamRedactor(this.redactor) };
      this.streams.set(prefix, stream);
    }
    const ready = stream.redactor.push(stream.decoder.write(chunk));
    if (ready) this.inner.output(prefix, Buffer.from(ready));
  }

  flush(): void {
    for (const [prefix, stream] of this.streams) {
      const rest = stream.redactor.push(stream.decoder.end()) + stream.redactor.end();
      if (rest) this.inner.output(prefix, Buffer.from(rest));
    }
    this.streams.clear();
    this.inner.flush();
  }
}

function redactedCopy(err: Error, redactor: Redactor): Error {
  const copy = new Error(redactor.redact(err.message));
  copy.stack = err.stack === undefined ? undefined : redactor.redact(err.stack);
  return copy;
}

/**
 * The same error with its message, hint, details and cause redacted: what the CLI renders
 * (and, with GOBUILD_CNB_DEBUG=1, the stack) shows no secret either.
 */
export function redactError(err: unknown, redactor: Redactor): unknown {
  if (!(err instanceof Error)) return redactor.redact(String(err));
  if (!(err instanceof GobuildError)) return redactedCopy(err, redactor);
  const copy = Object.create(Object.getPrototypeOf(err) as object) as GobuildError;
  Object.assign(copy, err, {
    hint: err.hint === undefined ? undefined : redactor.redact(err.hint),
    details: err.details === undefined ? undefined : redactor.redact(err.details),
    cause: err.cause instanceof Error ? redactedCopy(err.cause, redactor) : err.cause,
  });
  Object.defineProperty(copy, 'message', { value: redactor.redact(err.message), writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: err.stack === undefined ? undefined : redactor.redact(err.stack), writable: true, configurable: true });
  return copy;
}
