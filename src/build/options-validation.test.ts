/** Every flag value is checked before any engine call (issue #10): usage errors, each with a hint. */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { resolveBuildOptions, type BuildFlags } from './options';
import { testdir, type TestDir } from '../../test/helpers/testdir';
import { ExitCode, UsageError } from '../errors';

const fs = createRequire(__filename)('node:fs') as typeof import('node:fs');

describe('flag validation', () => {
  let dir: TestDir;
  beforeEach(() => {
    dir = testdir({
      'app/go.mod': 'module example.com/app\n\ngo 1.23\n',
      'app/main.go': 'package main\nfunc main() {}\n',
      'bp/buildpack.toml': 'api = "0.10"\n[buildpack]\nid = "x"\nversion = "1"\n',
      'nobp/README': 'no buildpack here\n',
      'bad.env': '# comment\nGOOD=1\nexport BAD=2\n',
      'nul.env': 'A=x\u0000y\n',
      'envdir/x': '',
    });
  });
  afterEach(() => dir.cleanup());

  function failure(flags: Partial<BuildFlags>, env: NodeJS.ProcessEnv = {}): UsageError {
    try {
      resolveBuildOptions('app', { tag: 'my-app', ...flags }, { cwd: dir.path, env, bundledBuildpackDir: join(dir.path, 'bp') });
    } catch (err) {
      if (err instanceof UsageError) return err;
      throw err;
    }
    throw new Error('no error');
  }

  it.each<[string, Partial<BuildFlags>, RegExp]>([
    ['an env name that is empty', { env: ['=x'] }, /"" is not a valid environment variable name/],
    ['an env name with a space', { env: ['A B=1'] }, /"A B" is not a valid environment variable name/],
    ['a NUL in an env value', { env: ['A=x\u0000y'] }, /contains a NUL byte/],
    ['a malformed env-file line (named file:line)', { envFile: ['bad.env'] }, /^bad\.env:3: "export BAD" is not a valid/],
    ['a NUL in an env-file', { envFile: ['nul.env'] }, /^nul\.env:1: the value of A contains a NUL byte/],
    ['a missing env-file', { envFile: ['missing.env'] }, /--env-file missing\.env: no such file/],
    ['an env-file that is a directory', { envFile: ['envdir'] }, /--env-file envdir is not a file/],
    ['a pull policy', { pullPolicy: 'sometimes' }, /--pull-policy "sometimes" is not one of always, if-not-present, never/],
    ['a default process', { defaultProcess: 'a/b' }, /--default-process "a\/b" is not a valid process type/],
    ['a cache volume name', { cacheVolume: '-x' }, /--cache-volume "-x" is not a valid Docker volume name/],
    ['a network name', { network: 'my net' }, /--network "my net" is not a network name/],
    ['an insecure registry', { insecureRegistry: ['https://r:5000'] }, /--insecure-registry "https:\/\/r:5000" is not a registry host/],
    ['a builder name', { builder: 'Not An Image' }, /--builder "Not An Image" is not an image name/],
    ['a run image name', { runImage: 'UPPER' }, /--run-image "UPPER" is not an image name/],
    ['a buildpack dir that is missing', { buildpack: 'nope' }, /--buildpack .*nope is not a directory/],
    ['a buildpack dir without buildpack.toml', { buildpack: 'nobp' }, /--buildpack .*nobp has no buildpack\.toml/],
    ['a platform Go cannot target', { platform: 'linux/sparc' }, /--platform linux\/sparc: Go cannot target linux\/sparc/],
  ])('rejects %s', (_name, flags, message) => {
    const err = failure(flags);
    expect(err.code).toBe(ExitCode.Usage);
    expect(err.message).toMatch(message);
    expect(err.hint).toMatch(/\S{3,}/);
  });

  it('names the environment variable a bad value came from', () => {
    expect(failure({}, { GOBUILD_CNB_PULL_POLICY: 'x' }).message).toMatch(/^GOBUILD_CNB_PULL_POLICY="x"/);
    expect(failure({}, { GOBUILD_CNB_BUILDER: 'Bad Builder' }).message).toBe('GOBUILD_CNB_BUILDER="Bad Builder" is not an image name');
  });

  it('names an unreadable env-file', () => {
    // Tests run as root, who reads any file: the file system says no instead.
    const realRead = fs.readFileSync;
    const spy = jest.spyOn(fs, 'readFileSync').mockImplementation(((path: import('node:fs').PathOrFileDescriptor, options?: unknown) => {
      if (String(path).endsWith('bad.env')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return realRead(path, options as never);
    }) as typeof import('node:fs').readFileSync);
    try {
      expect(failure({ envFile: ['bad.env'] }).message).toMatch(/cannot read it \(EACCES\)/);
    } finally {
      spy.mockRestore();
    }
  });
});
