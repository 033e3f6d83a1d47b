/**
 * Fast rebuilds: the cache volume keeps Go's build cache between builds, --clear-cache empties
 * it, and concurrent builds of one image take turns without corrupting it.
 */
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { buildContainersLeft, docker, removeImage, runCli, startCli, TEST_BUILDER } from '../helpers/cli';

// -v makes `go build` name every package it compiles: a package missing from that list was
// taken from the cache.
const ARGS = ['--builder', TEST_BUILDER, '--pull-policy', 'never', '--env', 'BP_GO_BUILD_FLAGS=-v', '--json'];

interface Result {
  id: string;
  layerBytesSent: number;
  cache: { volume: string; status: string; reasons: string[] };
  layers: Array<{ name: string; reused?: boolean }>;
}

describeWithDocker('build cache', () => {
  jest.setTimeout(600_000);
  let app: TestDir;
  const tag = 'gobuild-cnb-test/cached:it';
  const volume = 'gobuild-cnb-test-cache-it';
  const build = (extra: string[] = []) => runCli(['build', app.path, '-t', tag, '--cache-volume', volume, ...ARGS, ...extra]);

  beforeAll(() => {
    app = testdir({
      'go.mod': 'module example.com/cached\n\ngo 1.22\n',
      'main.go': 'package main\n\nimport (\n\t"encoding/json"\n\t"fmt"\n)\n\nfunc main() {\n\tb, _ := json.Marshal(map[string]int{"n": 1})\n\tfmt.Println(string(b))\n}\n',
    });
  });
  afterAll(() => {
    app.cleanup();
    removeImage(tag);
    try {
      docker(['volume', 'rm', '-f', volume]);
    } catch {
      // already gone
    }
  });
  // Only this suite's: other suites may be building on the same engine meanwhile.
  afterEach(() => expect(buildContainersLeft(undefined, volume)).toEqual([]));

  it('starts cold with --clear-cache, then recompiles nothing when nothing changed', async () => {
    const cold = await build(['--clear-cache']);
    expect(cold.code).toBe(0);
    const coldJson = JSON.parse(cold.stdout) as Result;
    expect(coldJson.cache.status).toBe('cleared');
    expect(coldJson.cache.reasons.join('\n')).toMatch(/--clear-cache/);
    expect(cold.stderr).toMatch(/\[build\] encoding\/json\n/);

    const warm = await build();
    expect(warm.code).toBe(0);
    const warmJson = JSON.parse(warm.stdout) as Result;
    expect(warmJson.cache).toMatchObject({ volume, status: 'existing', reasons: [] });
    expect(warm.stderr).toMatch(/gocache: reused/);
    expect(warm.stderr).not.toMatch(/\[build\] encoding\/json\n/);
    expect(warmJson.id).toBe(coldJson.id);
    expect(warmJson.layers.every((l) => l.reused)).toBe(true);
    expect(coldJson.layerBytesSent).toBeGreaterThan(0);
    expect(warmJson.layerBytesSent).toBe(0);
  });

  it('says why when the flags changed', async () => {
    const result = await build(['--env', 'BP_GO_BUILD_FLAGS=-v -tags=extra']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as Result).cache.reasons.join('\n')).toMatch(/build flags changed/);
  });

  it('lets two concurrent builds of one image both succeed, and the third still reuses the cache', async () => {
    // The first build compiles from an empty cache, which takes seconds: the second starts once
    // the first is compiling, so it finds the volume's lock (the first's container, named
    // gobuild-cnb-lock-<volume>) taken and waits until the first has removed it.
    const first = startCli(['build', app.path, '-t', tag, '--cache-volume', volume, ...ARGS, '--clear-cache']);
    await first.waitForStderr(/\[build\] /);
    const second = startCli(['build', app.path, '-t', tag, '--cache-volume', volume, ...ARGS]);
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/Waiting for build [0-9a-f]{12}, which is using cache volume/);
    expect(a.stderr).not.toMatch(/Waiting for build/);
    const third = await build();
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/gocache: reused/);
    expect(third.stderr).not.toMatch(/\[build\] encoding\/json\n/);
  });

  it('lists and removes cache volumes with gobuild-cnb cache', async () => {
    const ls = await runCli(['cache', 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(volume);
    const rm = await runCli(['cache', 'rm', volume]);
    expect(rm.code).toBe(0);
    expect((await runCli(['cache', 'ls'])).stdout).not.toContain(volume);
    const again = await runCli(['cache', 'rm', volume]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no gobuild-cnb cache volume/);
  });

  it('refuses to remove a cache volume a container is using (exit 5), and keeps it', async () => {
    const busy = 'gobuild-cnb-test-cache-in-use';
    docker(['volume', 'create', '--label', `io.gobuild-cnb.cache=${busy}`, busy]);
    const user = docker(['create', '-v', `${busy}:/cache`, TEST_BUILDER, 'true']);
    try {
      const rm = await runCli(['cache', 'rm', busy]);
      expect(rm.code).toBe(5);
      expect(rm.stderr).toMatch(/ERROR: cache volume gobuild-cnb-test-cache-in-use is in use by a build\nhint: Wait/);
      expect(docker(['volume', 'ls', '-q', '--filter', `name=${busy}`])).toBe(busy);
    } finally {
      docker(['rm', '-f', user]);
    }
    const rm = await runCli(['cache', 'rm', busy]);
    expect(rm.code).toBe(0);
    expect(docker(['volume', 'ls', '-q', '--filter', `name=${busy}`])).toBe('');
  });
});
