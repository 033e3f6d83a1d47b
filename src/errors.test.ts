import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as errors from './errors';
import * as registryErrors from './registry/errors';

describe('every error has a hint', () => {
  const classes = Object.entries({ ...errors, ...registryErrors }).filter(
    ([, value]) => typeof value === 'function' && (value === errors.GobuildError || value.prototype instanceof errors.GobuildError),
  ) as Array<[string, new (...args: never[]) => errors.GobuildError]>;

  it.each(classes.filter(([name]) => name !== 'GobuildError'))('%s has a default hint', (_name, ErrorClass) => {
    // The registry errors take the host (and more) in their options; the hint is not among them.
    const Ctor = ErrorClass as unknown as new (message: string, options: object) => errors.GobuildError;
    const options = { host: 'registry.example', credentialSource: 'none', status: 500, errors: [] };
    expect(new Ctor('something went wrong', options).hint).toMatch(/\S{3,}/);
  });

  /** Source files that make errors, with the `new GobuildError(` sites that must pass a hint. */
  function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sources(path);
      return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
    });
  }

  it('no error made from the base class goes without a hint', () => {
    const missing: string[] = [];
    for (const file of sources(__dirname)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/new GobuildError\(/g)) {
        // The call's options within the next few lines must name a hint.
        const call = text.slice(m.index, m.index + 600);
        if (!/hint:/.test(call)) missing.push(`${file}:${text.slice(0, m.index).split('\n').length}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('asGobuildError', () => {
  const fsError = (code: string, syscall: string, path: string): Error => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

  it('never calls a file the user named "a bug"', () => {
    for (const code of ['EACCES', 'EROFS', 'ENOENT', 'EISDIR']) {
      const err = errors.asGobuildError(fsError(code, 'open', '/home/me/out.tar'));
      expect(err.code).toBe(errors.ExitCode.Usage);
      expect(err.message).toContain('/home/me/out.tar');
      expect(err.hint).not.toMatch(/bug/);
    }
  });

  it('a full disk is exit 53', () => {
    expect(errors.asGobuildError(fsError('ENOSPC', 'write', '/tmp/x')).code).toBe(errors.ExitCode.BuildResources);
  });

  it('keeps our errors and calls anything else a bug', () => {
    const ours = new errors.UsageError('x');
    expect(errors.asGobuildError(ours)).toBe(ours);
    const other = errors.asGobuildError(new TypeError('x is undefined'));
    expect(other).toBeInstanceOf(errors.InternalError);
    expect(other.hint).toMatch(/bug/);
  });
});
