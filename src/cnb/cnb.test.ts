import { parseBuildpackToml, parseLaunchToml, parseLayerToml, selectDefaultProcess } from './files';
import { applyEnvFiles, computeLaunchEnv, envListToMap } from './launch-env';
import { compilePattern, makeSourceFilter, parseProjectToml } from './project';
import { escapeBuildpackId, buildpackLayersDir } from './spec';

describe('CNB file schemas', () => {
  it('reads buildpack.toml', () => {
    const bp = parseBuildpackToml(
      'api = "0.10"\n[buildpack]\nid = "gobuild-cnb/go"\nversion = "0.1.0"\nsbom-formats = ["application/vnd.cyclonedx+json"]\n[[targets]]\nos = "linux"\narch = "amd64"\n',
    );
    expect(bp).toMatchObject({ api: '0.10', id: 'gobuild-cnb/go', version: '0.1.0', targets: [{ os: 'linux', arch: 'amd64' }] });
    expect(() => parseBuildpackToml('[buildpack]\nid = "x"\n')).toThrow(/needs api/);
  });

  it('reads launch.toml processes with array commands and finds the default', () => {
    const launch = parseLaunchToml(
      '[[processes]]\ntype = "api"\ncommand = ["/layers/x/targets/bin/api"]\nargs = []\ndefault = true\n\n[[processes]]\ntype = "worker"\ncommand = ["/layers/x/targets/bin/worker"]\n',
    );
    expect(launch.processes.map((p) => p.type)).toEqual(['api', 'worker']);
    expect(selectDefaultProcess(launch.processes)?.type).toBe('api');
    expect(selectDefaultProcess(launch.processes, 'worker')?.type).toBe('worker');
    expect(selectDefaultProcess(launch.processes, 'nope')).toBeUndefined();
  });

  it('rejects launch.toml mistakes with the file name', () => {
    expect(() => parseLaunchToml('[[processes]]\ntype = "a b"\ncommand = ["x"]\n', 'l.toml')).toThrow(/l\.toml.*not a valid process type/);
    expect(() => parseLaunchToml('[[processes]]\ntype = "a"\ncommand = "x"\n')).toThrow(/non-empty command array/);
    expect(() => parseLaunchToml('[[processes]]\ntype = "a"\ncommand = ["x"]\ndirect = true\n')).toThrow(/direct/);
    expect(() => parseLaunchToml('not toml =', 'bad.toml')).toThrow(/bad\.toml/);
  });

  it('reads layer types and refuses them at the top level', () => {
    expect(parseLayerToml('[types]\nlaunch = true\n[metadata]\nx = "1"\n', 't.toml')).toEqual({
      types: { launch: true, build: false, cache: false },
      metadata: { x: '1' },
    });
    expect(() => parseLayerToml('launch = true\n', 't.toml')).toThrow(/under \[types\]/);
  });

  it('escapes buildpack ids as the spec does', () => {
    expect(escapeBuildpackId('paketo-buildpacks/go-build')).toBe('paketo-buildpacks_go-build');
    expect(buildpackLayersDir('gobuild-cnb/go')).toBe('/layers/gobuild-cnb_go');
  });
});

describe('launch env', () => {
  it('applies suffix rules; no .delim means no delimiter', () => {
    const env = envListToMap(['A=a', 'B=b', 'C=c']);
    applyEnvFiles(env, [
      { name: 'A.append', content: 'x' },
      { name: 'B.prepend', content: 'y' },
      { name: 'B.delim', content: ':' },
      { name: 'C.default', content: 'ignored' },
      { name: 'D.default', content: 'd' },
      { name: 'E', content: 'e' },
      { name: 'F.override', content: 'f' },
    ]);
    expect(Object.fromEntries(env)).toEqual({ A: 'ax', B: 'y:b', C: 'c', D: 'd', E: 'e', F: 'f' });
  });

  it('puts launch layer bin dirs and /cnb/process on PATH', () => {
    const env = computeLaunchEnv(
      ['PATH=/usr/bin:/bin', 'SSL_CERT_DIR=/etc/ssl/certs'],
      [{ imagePath: '/layers/gobuild-cnb_go/targets', hasBin: true, hasLib: false, envFiles: [] }],
      '/cnb/process',
    );
    expect(env).toContain('PATH=/cnb/process:/layers/gobuild-cnb_go/targets/bin:/usr/bin:/bin');
    expect(env).toContain('SSL_CERT_DIR=/etc/ssl/certs');
  });
});

describe('project.toml', () => {
  it('reads schema 0.2 and legacy layouts', () => {
    expect(parseProjectToml('[_]\nschema-version = "0.2"\n[io.buildpacks]\nexclude = ["*.md"]\n').exclude).toEqual(['*.md']);
    expect(parseProjectToml('[build]\ninclude = ["cmd/"]\n[[build.env]]\nname = "X"\nvalue = "1"\n')).toEqual({
      include: ['cmd/'],
      exclude: [],
      buildEnv: [{ name: 'X', value: '1' }],
    });
    expect(() => parseProjectToml('[build]\ninclude = ["a"]\nexclude = ["b"]\n')).toThrow(/cannot both/);
  });

  it('matches gitignore-like patterns', () => {
    expect(compilePattern('*.md')('docs/readme.md', false)).toBe(true);
    expect(compilePattern('/secret')('secret', false)).toBe(true);
    expect(compilePattern('/secret')('a/secret', false)).toBe(false);
    expect(compilePattern('build/')('build', true)).toBe(true);
    expect(compilePattern('build/')('build', false)).toBe(false);
    expect(compilePattern('docs/**/*.png')('docs/a/b/c.png', false)).toBe(true);
  });

  it('keeps .git out always and applies excludes', () => {
    const keep = makeSourceFilter({ include: [], exclude: ['*.log', 'tmp/'], buildEnv: [] });
    expect(keep('.git', true)).toBe(false);
    expect(keep('.git/config', false)).toBe(false);
    expect(keep('a.log', false)).toBe(false);
    expect(keep('tmp', true)).toBe(false);
    expect(keep('main.go', false)).toBe(true);
  });
});
