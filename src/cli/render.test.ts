import { renderError, renderJsonError } from './render';
import { endQuietlyOnClosedPipe, wantsJson } from './main';
import { BuildFailedError, ExitCode, UsageError } from '../errors';
import { PassThrough } from 'node:stream';

describe('renderError', () => {
  it('prints the message and its hint, without a stack', () => {
    const text = renderError(new UsageError('bad flag', { hint: 'fix it' }));
    expect(text).toBe('ERROR: bad flag\nhint: fix it\n');
    expect(text).not.toMatch(/\n\s+at /);
  });
});

describe('--json errors', () => {
  it('is one object with code, message, hint and phase', () => {
    const err = new BuildFailedError('the Go code did not compile', { hint: 'fix main.go' });
    err.phase = 'build';
    expect(JSON.parse(renderJsonError(err))).toEqual({
      error: { code: ExitCode.BuildFailed, message: 'the Go code did not compile', hint: 'fix main.go', phase: 'build' },
    });
  });
  it('has phase null before the build starts', () => {
    expect(JSON.parse(renderJsonError(new UsageError('missing image name'))).error.phase).toBeNull();
  });
  it('is asked for by --json before a --', () => {
    expect(wantsJson(['build', '.', '--json'])).toBe(true);
    expect(wantsJson(['build', '.', '--', '--json'])).toBe(false);
    expect(wantsJson(['build', '.'])).toBe(false);
  });
});

describe('a closed pipe', () => {
  it('drops EPIPE instead of throwing', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    endQuietlyOnClosedPipe(stream);
    expect(() => stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).not.toThrow();
    expect(() => stream.emit('error', Object.assign(new Error('boom'), { code: 'EIO' }))).toThrow('boom');
  });
});
