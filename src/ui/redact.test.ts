import { isConfigurationSetting, MIN_SECRET_LENGTH, RedactingReporter, redactError, Redactor, StreamRedactor } from './redact';
import { colorWanted, ConsoleReporter, RecordingReporter } from './reporter';
import { BuildFailedError, ExitCode } from '../errors';

const redactor = (vars: Record<string, string>): Redactor => Redactor.forBuildEnv(Object.entries(vars).map(([name, value]) => ({ name, value })));

describe('which build env values are secrets', () => {
  it.each(['BP_GO_BUILD_LDFLAGS', 'BP_KEEP_FILES', 'GOPROXY', 'GOFLAGS', 'GOPRIVATE', 'CGO_ENABLED', 'CGO_CFLAGS'])('%s is configuration', (name) => {
    expect(isConfigurationSetting(name)).toBe(true);
  });
  it.each(['MY_SECRET', 'GITHUB_TOKEN', 'HTTPS_PROXY', 'NETRC', 'GOAUTH', 'BP_GIT_TOKEN', 'GO_PRIVATE_KEY', 'BP_REGISTRY_PASSWORD', 'GOPASSWORD'])('%s is a secret', (name) => {
    expect(isConfigurationSetting(name)).toBe(false);
  });

  it('shows configuration as written and redacts the secret it references once expanded', () => {
    const r = redactor({ MY_SECRET: 's3cr3t-value', BP_GO_BUILD_LDFLAGS: '-X main.v=$MY_SECRET' });
    expect(r.redact('go build -ldflags "-X main.v=s3cr3t-value" (BP_GO_BUILD_LDFLAGS=-X main.v=$MY_SECRET)')).toBe(
      'go build -ldflags "-X main.v=[redacted:MY_SECRET]" (BP_GO_BUILD_LDFLAGS=-X main.v=$MY_SECRET)',
    );
  });
});

describe('Redactor', () => {
  it(`ignores values shorter than ${MIN_SECRET_LENGTH} characters`, () => {
    const r = redactor({ SHORT: 'abc', EMPTY: '', LONG: 'abcd' });
    expect(r.redact('abc abcd')).toBe('abc [redacted:LONG]');
  });

  it('redacts overlapping and nested values as one span naming both, leaving no part of either', () => {
    const r = redactor({ A: 'abcdef', B: 'defghi', C: 'cdefg' });
    expect(r.redact('xx abcdefghi yy')).toBe('xx [redacted:A,C,B] yy');
    expect(r.redact('abcdefabcdef')).toBe('[redacted:A][redacted:A]');
  });

  it('finds the JSON-escaped form and each line of a multi-line value', () => {
    const r = redactor({ Q: 'pa"ss\\word', M: 'line-one\nline-two' });
    expect(r.redact(JSON.stringify({ v: 'pa"ss\\word' }))).toBe('{"v":"[redacted:Q]"}');
    expect(r.redact('got line-one\nand line-two')).toBe('got [redacted:M]\nand [redacted:M]');
  });

  it('masks URL userinfo in every text, secret or not', () => {
    const r = redactor({});
    expect(r.redact('GOPROXY=https://bob:hunter22@proxy.example/ fallback http://tok@h:8080/x, ssh git@github.com:o/r')).toBe(
      'GOPROXY=https://[redacted]@proxy.example/ fallback http://[redacted]@h:8080/x, ssh git@github.com:o/r',
    );
  });

  it('keeps the login of an ssh:// engine address, but not a password in one', () => {
    const r = redactor({});
    expect(r.redact('engine: ssh://root@build-host:22 and ssh://me:pw@h')).toBe('engine: ssh://root@build-host:22 and ssh://[redacted]@h');
  });

  it('redacts every string of a JSON value, keys included, and keeps other values', () => {
    const r = redactor({ S: 'topsecret' });
    expect(r.redactDeep({ a: ['x topsecret'], n: 1, ok: true, none: null, topsecret: { b: 'topsecret' } })).toEqual({
      a: ['x [redacted:S]'],
      n: 1,
      ok: true,
      none: null,
      '[redacted:S]': { b: '[redacted:S]' },
    });
  });
});

describe('StreamRedactor', () => {
  const secret = 'correct-horse-battery';
  const r = redactor({ PW: secret });
  const text = `line 1\nthe value is ${secret} and again ${secret}\nlast ${secret}`;

  it('never releases a secret split at any chunk boundary (every split of the text, every chunk size)', () => {
    for (let size = 1; size <= text.length; size++) {
      const stream = new StreamRedactor(r);
      let out = '';
      for (let at = 0; at < text.length; at += size) out += stream.push(text.slice(at, at + size));
      out += stream.end();
      expect(out).toBe(r.redact(text));
      expect(out).not.toContain('horse');
    }
  });

  it('cuts a line longer than the limit only where no secret can straddle the cut', () => {
    const long = `${'x'.repeat(50)}${secret}${'y'.repeat(7)}`;
    for (let size = 1; size <= long.length; size += 3) {
      const stream = new StreamRedactor(r, 16);
      let out = '';
      const released: string[] = [];
      for (let at = 0; at < long.length; at += size) {
        const piece = stream.push(long.slice(at, at + size));
        released.push(piece);
        out += piece;
      }
      out += stream.end();
      expect(out).toBe(`${'x'.repeat(50)}[redacted:PW]${'y'.repeat(7)}`);
      // Memory stays bounded: something was released before the end.
      expect(released.join('').length).toBeGreaterThan(0);
    }
  });
});

describe('RedactingReporter', () => {
  it('redacts output split across chunks (and inside a UTF-8 character), messages and details', () => {
    const inner = new RecordingReporter();
    const reporter = new RedactingReporter(inner, redactor({ PW: 'pässwörd-1' }));
    const bytes = Buffer.from('[build] pässwörd-1 done\nend pässwörd-1');
    for (let i = 0; i < bytes.length; i++) reporter.output('build', bytes.subarray(i, i + 1));
    reporter.flush();
    reporter.info('info pässwörd-1');
    reporter.detail('detail https://u:pässwörd-1@h/');
    reporter.warn('warn pässwörd-1');
    const all = inner.lines.join('|');
    expect(all).not.toMatch(/pässwörd|wörd/);
    expect(inner.lines).toEqual([
      '[build] [build] [redacted:PW] done\n',
      '[build] end [redacted:PW]',
      'info [redacted:PW]',
      'detail: detail https://[redacted]@h/',
      'warning: warn [redacted:PW]',
    ]);
  });
});

describe('redactError', () => {
  it('keeps the class and exit code, redacts message, hint, details and cause', () => {
    const r = redactor({ TOKEN: 'ghp_abcdef' });
    const err = new BuildFailedError('failed with ghp_abcdef', { hint: 'check ghp_abcdef', details: 'log ghp_abcdef', cause: new Error('inner ghp_abcdef') });
    const out = redactError(err, r) as BuildFailedError;
    expect(out).toBeInstanceOf(BuildFailedError);
    expect(out).toMatchObject({ code: ExitCode.BuildFailed, message: 'failed with [redacted:TOKEN]', hint: 'check [redacted:TOKEN]', details: 'log [redacted:TOKEN]' });
    expect(String((out.cause as Error).stack)).not.toContain('ghp_abcdef');
    expect(String(out.stack)).not.toContain('ghp_abcdef');
    expect((redactError(new TypeError('x ghp_abcdef'), r) as Error).message).toBe('x [redacted:TOKEN]');
  });
});

describe('ConsoleReporter and NO_COLOR', () => {
  const tty = (): NodeJS.WriteStream & { text: string } => {
    const stream = { isTTY: true, text: '', write(s: string) { stream.text += s; return true; } };
    return stream as unknown as NodeJS.WriteStream & { text: string };
  };
  it.each([
    ['NO_COLOR=1', { NO_COLOR: '1' }, undefined],
    ['--no-color', {}, false],
  ])('on a terminal with %s: plain lines, no spinner, no escape codes', (_case, env, color) => {
    const stream = tty();
    const reporter = new ConsoleReporter({ stream, env, color });
    reporter.phaseStart('build', 'Building');
    reporter.phaseEnd('build', true, 5);
    expect(stream.text).toBe('===> BUILD\nBuilding\nbuild done in 5ms\n');
    // eslint-disable-next-line no-control-regex
    expect(stream.text).not.toMatch(/\u001b/);
  });

  it('NO_COLOR counts only when set to something (no-color.org)', () => {
    expect(colorWanted({ env: { NO_COLOR: '' } })).toBe(true);
    expect(colorWanted({ env: {} })).toBe(true);
    expect(colorWanted({ env: { NO_COLOR: '0' } })).toBe(false);
    expect(colorWanted({ env: {}, color: false })).toBe(false);
  });
});
