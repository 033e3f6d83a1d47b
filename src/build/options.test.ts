import { resolveBuildOptions, DEFAULT_BUILDER, parseEnvFile, parseOutput, parsePlatforms, type BuildFlags } from './options';
import { testdir, type TestDir } from '../../test/helpers/testdir';
import { ExitCode, UsageError } from '../errors';
import { join } from 'node:path';

describe('resolveBuildOptions', () => {
  let dir: TestDir;
  let buildpack: TestDir;
  beforeEach(() => {
    dir = testdir({ 'app/go.mod': 'module example.com/app\n\ngo 1.23.4\n', 'app/main.go': 'package main\nfunc main() {}\n', 'empty/': '' });
    buildpack = testdir({ 'buildpack.toml': 'api = "0.10"\n[buildpack]\nid = "x"\nversion = "1"\n' });
  });
  afterEach(() => {
    dir.cleanup();
    buildpack.cleanup();
  });
  const resolve = (flags: BuildFlags, env: NodeJS.ProcessEnv = {}, app = 'app') =>
    resolveBuildOptions(app, flags, { cwd: dir.path, env, bundledBuildpackDir: buildpack.path });

  it('defaults the builder to golang:1-bookworm whatever go.mod says, then GOBUILD_CNB_BUILDER, then the flag', () => {
    expect(DEFAULT_BUILDER).toBe('golang:1-bookworm');
    expect(resolve({ tag: 'my-app' })).toMatchObject({ builder: 'golang:1-bookworm', builderSource: 'default' });
    expect(resolve({ tag: 'my-app' }, { GOBUILD_CNB_BUILDER: 'b:1' })).toMatchObject({ builder: 'b:1', builderSource: 'GOBUILD_CNB_BUILDER' });
    expect(resolve({ tag: 'my-app', builder: 'c:2' }, { GOBUILD_CNB_BUILDER: 'b:1' })).toMatchObject({ builder: 'c:2', builderSource: 'flag' });
  });

  it('reads --netrc and --volume bindings (relative to the current dir), and never a netrc it was not given', () => {
    const files = testdir({ '.netrc': 'machine h login u password p\n', 'b/type': 'git-credentials', 'b/credentials': 'password=x\n' });
    try {
      const ctx = { cwd: files.path, env: { HOME: files.path, NETRC: join(files.path, '.netrc') }, bundledBuildpackDir: buildpack.path };
      expect(resolveBuildOptions(join(dir.path, 'app'), { tag: 'x' }, ctx).bindings).toEqual([]);
      const opts = resolveBuildOptions(join(dir.path, 'app'), { tag: 'x', netrc: ['.netrc'], volume: ['b:/platform/bindings/git'] }, ctx);
      expect(opts.bindings.map((b) => `${b.name}:${b.type}`)).toEqual(['git:git-credentials', 'netrc:netrc']);
      expect(() => resolveBuildOptions(join(dir.path, 'app'), { tag: 'x', volume: ['b:/bindings/git'] }, ctx)).toThrow(UsageError);
    } finally {
      files.cleanup();
    }
  });

  it.each(['1.11', '1.13', '1.16', '1.20', '1.22.3', '1.26.8', '1.30'])(
    'go %s in go.mod: the default builder is golang:1-bookworm, an image that exists (golang:1.13-bookworm does not)',
    (goLine) => {
      const t = testdir({ 'go.mod': `module x\n\ngo ${goLine}\n`, 'main.go': 'package main\nfunc main() {}\n' });
      try {
        const opts = resolveBuildOptions(t.path, { tag: 'x' }, { cwd: t.path, env: {}, bundledBuildpackDir: buildpack.path });
        expect(opts.builder).toBe('golang:1-bookworm');
      } finally {
        t.cleanup();
      }
    },
  );

  it('merges build env: project.toml < --env-file < --env, and --env NAME copies the host value', () => {
    const t = testdir({
      'go.mod': 'module x\n',
      'project.toml': '[_]\nschema-version = "0.2"\n[[io.buildpacks.build.env]]\nname = "A"\nvalue = "project"\n[[io.buildpacks.build.env]]\nname = "B"\nvalue = "project"\n',
      'build.env': '# comment\nB=file\nC=file\n',
    });
    try {
      const opts = resolveBuildOptions(t.path, { tag: 'x', envFile: [join(t.path, 'build.env')], env: ['C=flag', 'HOSTVAR'] }, {
        cwd: t.path,
        env: { HOSTVAR: 'from-host' },
        bundledBuildpackDir: buildpack.path,
      });
      expect(opts.env).toEqual([
        { name: 'A', value: 'project' },
        { name: 'B', value: 'file' },
        { name: 'C', value: 'flag' },
        { name: 'HOSTVAR', value: 'from-host' },
      ]);
    } finally {
      t.cleanup();
    }
  });

  it.each([
    [{ tag: 'My-App' }, /not a valid image name/],
    [{}, /missing image name/],
    [{ tag: 'x', pullPolicy: 'sometimes' }, /pull-policy/],
    [{ tag: 'x', env: ['1BAD=x'] }, /not a valid environment variable name/],
    [{ tag: 'x', env: ['UNSET_VAR'] }, /not set in your environment/],
    [{ tag: 'x', output: 'ftp:x' }, /--output/],
    [{ tag: 'x', platform: 'linux' }, /--platform/],
    [{ tag: 'x', platform: 'linux/amd64,linux/arm64' }, /one platform at a time/],
    [{ tag: 'x', defaultProcess: 'a b' }, /not a valid process type/],
  ])('rejects bad input %p with a usage error', (flags, message) => {
    let caught: unknown;
    try {
      resolve(flags as BuildFlags);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).code).toBe(ExitCode.Usage);
    expect((caught as UsageError).message).toMatch(message);
  });

  it('rejects a missing or empty app dir with a hint', () => {
    expect(() => resolve({ tag: 'x' }, {}, 'nope')).toThrow(/does not exist/);
    expect(() => resolve({ tag: 'x' }, {}, 'empty')).toThrow(/is empty/);
  });

  it('reads SOURCE_DATE_EPOCH and rejects garbage', () => {
    expect(resolve({ tag: 'x' }, { SOURCE_DATE_EPOCH: '1700000000' }).sourceDateEpoch).toBe(1700000000);
    expect(() => resolve({ tag: 'x' }, { SOURCE_DATE_EPOCH: 'yesterday' })).toThrow(/SOURCE_DATE_EPOCH/);
  });

  it('returns frozen options', () => {
    expect(Object.isFrozen(resolve({ tag: 'x' }))).toBe(true);
  });
});

describe('output and platform parsing', () => {
  it('parses every output kind, relative to cwd', () => {
    expect(parseOutput(undefined, false, '/w')).toEqual({ kind: 'docker' });
    expect(parseOutput('oci:out', false, '/w')).toEqual({ kind: 'oci', path: '/w/out' });
    expect(parseOutput('oci-archive:/t/a.tar', false, '/w')).toEqual({ kind: 'oci-archive', path: '/t/a.tar' });
    expect(parseOutput(undefined, true, '/w')).toEqual({ kind: 'registry' });
    expect(() => parseOutput('oci:x', true, '/w')).toThrow(/two different outputs/);
  });
  it('parses platform lists', () => {
    expect(parsePlatforms('linux/amd64,linux/arm64/v8')).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
  });
  it('names the line of a bad env file', () => {
    expect(() => parseEnvFile('A=1\n=2\n', 'f.env', {})).toThrow(/f\.env:2/);
  });
});
