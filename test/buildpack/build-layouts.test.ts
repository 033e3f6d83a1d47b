/**
 * bin/build on each kind of Go source layout: vendored, modules from a GOPROXY, go.work
 * monorepo, BP_GO_WORK_USE, GOPATH mode, //go:embed with BP_KEEP_FILES, a /v2 module and
 * BP_GO_WORKDIR. Modules come only from vendor/ or the file-system proxy in fixtures/.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLaunchToml, parseLayerToml } from '../../src/cnb/files';
import { fixturesDir, goproxyUrl, Sandbox, useFixtures } from './sandbox';

jest.setTimeout(120_000);

const fixture = useFixtures();

function expectBuilt(result: { code: number; output: string }): void {
  if (result.code !== 0) throw new Error(`build failed (${result.code}):\n${result.output}`);
}

test('a vendored app builds from vendor/ with no proxy at all', () => {
  const sandbox = fixture('vendored');
  const result = sandbox.build({ GOPROXY: 'off' });
  expectBuilt(result);
  expect(sandbox.runBinary('vendored')).toBe('from vendored fakedep v1.0.0\n');
  expect(result.stdout).toContain('modcache: not used, modules come from vendor/');
  expect(sandbox.read('targets.sbom.cdx.json')).toContain('"purl": "pkg:golang/example.com/fakedep@v1.0.0"');
});

describe('modules through GOPROXY (a file:// proxy)', () => {
  let sandbox: Sandbox;
  let first: ReturnType<Sandbox['build']>;
  beforeAll(() => {
    sandbox = fixture('proxied');
    first = sandbox.build({ GOPROXY: goproxyUrl });
    expectBuilt(first);
  });

  test('the dependency comes from the proxy into the modcache layer', () => {
    expect(sandbox.runBinary('proxied')).toBe('quote v1.0.0 from the file proxy\n');
    expect(existsSync(join(sandbox.layers, 'modcache', 'example.com', 'quote@v1.0.0', 'quote.go'))).toBe(true);
    expect(first.stdout).toContain('modcache: cold (first build)');
  });

  test('the SBOM lists each binary and the modules in it, with versions, from the binary', () => {
    const sbom = JSON.parse(sandbox.read('targets.sbom.cdx.json')) as {
      bomFormat: string;
      components: Array<{ type: string; name: string; version?: string; purl?: string; 'bom-ref': string }>;
      dependencies: Array<{ ref: string; dependsOn: string[] }>;
    };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.components).toContainEqual(expect.objectContaining({ type: 'application', name: 'proxied' }));
    const quote = sbom.components.find((c) => c.name === 'example.com/quote');
    expect(quote).toMatchObject({ type: 'library', version: 'v1.0.0', purl: 'pkg:golang/example.com/quote@v1.0.0' });
    expect(sbom.components).toContainEqual(expect.objectContaining({ name: 'stdlib', version: expect.stringMatching(/^go1\./) }));
    expect(sbom.dependencies).toContainEqual({ ref: 'binary:proxied', dependsOn: expect.arrayContaining([quote!['bom-ref']]) });
  });

  test('modcache.toml records the sha256 of go.sum; the next build explains reuse or change', () => {
    const goSum = readFileSync(join(fixturesDir, 'proxied', 'go.sum'));
    const metadata = parseLayerToml(sandbox.read('modcache.toml'), 'modcache.toml').metadata;
    expect(metadata).toEqual({ 'sum-file': 'go.sum', 'sum-sha256': createHash('sha256').update(goSum).digest('hex') });

    const again = fixture('proxied');
    const rebuild = () => again.build({ GOPROXY: goproxyUrl });
    // Same layers dir as a restored cache: copy the first build's cache metadata over.
    appendFileSync(join(again.layers, 'modcache.toml'), sandbox.read('modcache.toml'));
    appendFileSync(join(again.layers, 'gocache.toml'), sandbox.read('gocache.toml'));
    const reused = rebuild();
    expectBuilt(reused);
    expect(reused.stdout).toContain('modcache: reused (go.sum unchanged)');
    expect(reused.stdout).toMatch(/gocache: reused \(go1\.\S+ linux\/\w+\)/);
  });

  test('without the proxy the module cannot be fetched: GOPROXY is what made it work', () => {
    const result = fixture('proxied').build({ GOPROXY: 'off' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('module lookup disabled by GOPROXY=off');
  });
});

test('a changed go.sum is explained on the next build', () => {
  const sandbox = fixture('proxied');
  expectBuilt(sandbox.build({ GOPROXY: goproxyUrl }));
  const changed = fixture('proxied');
  appendFileSync(join(changed.layers, 'modcache.toml'), sandbox.read('modcache.toml').replace(/sum-sha256 = "\w+"/, 'sum-sha256 = "0000"'));
  const result = changed.build({ GOPROXY: goproxyUrl });
  expectBuilt(result);
  expect(result.stdout).toContain('modcache: go.sum changed, modules will be fetched');
});

test('a go.work monorepo without a root go.mod builds in workspace mode', () => {
  const sandbox = fixture('workspace');
  const result = sandbox.build();
  expectBuilt(result);
  expect(sandbox.runBinary('app')).toBe('hello from the workspace\n');
  expect(result.stdout).not.toContain('GOPATH mode');
  expect(parseLaunchToml(sandbox.read('launch.toml')).processes.map((p) => p.type)).toEqual(['app']);
});

test('BP_GO_WORK_USE adds modules to a go.work so the app can import them', () => {
  const without = fixture('work-use').build();
  expect(without.code).toBe(1);
  expect(without.stderr).toContain('example.com/greetlib');

  const sandbox = fixture('work-use');
  const result = sandbox.build({ BP_GO_WORK_USE: './greetlib' });
  expectBuilt(result);
  expect(result.stdout).toContain('Running: go work use . ./greetlib');
  expect(sandbox.runBinary('workuse')).toBe('hello from greetlib via go.work\n');
});

test('GOPATH mode without go.mod: BP_GO_BUILD_IMPORT_PATH is the import path of the app', () => {
  const sandbox = fixture('gopath-app');
  const result = sandbox.build({ BP_GO_BUILD_IMPORT_PATH: 'example.com/legacy' });
  expectBuilt(result);
  expect(result.stdout).toContain('building in GOPATH mode as example.com/legacy');
  expect(sandbox.runBinary('legacy')).toBe('hello from GOPATH mode\n');
  expect(parseLaunchToml(sandbox.read('launch.toml')).processes[0].type).toBe('legacy');
});

test('GOPATH mode defaults the import path to "workspace", so self-imports need the setting', () => {
  const result = fixture('gopath-app').build();
  expect(result.code).toBe(1);
  expect(result.stdout).toContain('building in GOPATH mode as workspace');
  expect(result.stderr).toContain('cannot find package "example.com/legacy/words"');
});

test('//go:embed files are in the binary; BP_KEEP_FILES keeps matching files in the app dir', () => {
  const sandbox = fixture('embed');
  const result = sandbox.build({ BP_KEEP_FILES: 'static/message.txt' });
  expectBuilt(result);
  expect(sandbox.runBinary('embed')).toBe('embedded hello\n');
  expect(sandbox.appTree()).toEqual(['static/', 'static/message.txt']);
});

test('a /v2 module builds a binary named after the element before /v2', () => {
  const sandbox = fixture('v2-module');
  expectBuilt(sandbox.build());
  expect(sandbox.runBinary('tool')).toBe('tool v2\n');
  expect(parseLaunchToml(sandbox.read('launch.toml')).processes[0]).toMatchObject({ type: 'tool', command: [sandbox.bin('tool')] });
});

test('BP_GO_WORKDIR builds in a subdirectory and still removes the whole source tree', () => {
  const sandbox = fixture('monorepo');
  const result = sandbox.build({ BP_GO_WORKDIR: 'services/svc' });
  expectBuilt(result);
  expect(sandbox.runBinary('svc')).toBe('svc from the workdir\n');
  expect(sandbox.appTree()).toEqual([]);
});
