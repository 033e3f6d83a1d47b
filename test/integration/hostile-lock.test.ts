/**
 * Issue #10 item 3 and 7: builds sharing one cache volume (the documented way to share a cache
 * between branches) take turns under any timing, a build that died holding the lock does not
 * block the next, and a failed build leaves no volume behind. The interleavings are forced
 * with a copy of the buildpack that announces itself and sleeps inside bin/build (while it
 * holds the lock), not left to luck. Each image is run: it must print its own app's text.
 */
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { docker, removeImage, runCli, startCli, TEST_BUILDER, type CliResult } from '../helpers/cli';
import { expectNothingLeft, expectWarmBuild, instrumentedBuildpack, privateTmp, removeContainer, volumesWithPrefix, type PrivateTmp } from '../helpers/hostile';

const SCOPE = 'hostile-lock';
const VOLUME_PREFIX = `gobuild-cnb-test-${SCOPE}`;
const VOLUME = `${VOLUME_PREFIX}-shared`;
const LOCK = `gobuild-cnb-lock-${VOLUME}`;
const TAG_A = `gobuild-cnb-test/${SCOPE}-a`;
const TAG_B = `gobuild-cnb-test/${SCOPE}-b`;
const BUILDER_ARGS = ['--builder', TEST_BUILDER, '--pull-policy', 'never'];
/** Printed by the instrumented bin/build once it runs, i.e. while its build holds the lock. */
const HOLDING = /LOCK-TEST holding the cache/;

/** Two branches of one app: same module and binary name, so without the lock their builds collide. */
const goApp = (name: string): Record<string, string> => ({
  'go.mod': 'module example.com/lock-app\n\ngo 1.22\n',
  'main.go': `package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("this is app ${name}") }\n`,
});

/**
 * A copy of the bundled buildpack whose bin/build says it runs and then sleeps `seconds`
 * before building: a build using it holds the cache volume's lock for that long.
 */
function sleepyBuildpack(seconds: number): TestDir {
  return instrumentedBuildpack(SCOPE, 'build', `echo "LOCK-TEST holding the cache"\nsleep ${seconds}`);
}

function runImage(tag: string): string {
  return docker(['run', '--rm', tag]);
}

function expectBuilt(result: CliResult, tag: string): void {
  expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.stdout).toContain(tag);
}

describeWithDocker('hostile: builds sharing a cache volume', () => {
  jest.setTimeout(600_000);
  let appA: TestDir;
  let appB: TestDir;
  let sleepy: TestDir;
  let tmp: PrivateTmp;
  const build = (app: TestDir, tag: string, extra: string[] = []) =>
    startCli(['build', app.path, '-t', tag, '--cache-volume', VOLUME, ...BUILDER_ARGS, ...extra], { env: tmp.env });

  beforeAll(async () => {
    appA = testdir(goApp('A'));
    appB = testdir(goApp('B'));
    sleepy = sleepyBuildpack(6);
    // The one cold build of the suite: the shared volume is warm for every case after it.
    const warmUp = await runCli(['build', appA.path, '-t', TAG_A, '--cache-volume', VOLUME, ...BUILDER_ARGS]);
    expect({ code: warmUp.code, stderr: warmUp.code === 0 ? '' : warmUp.stderr }).toEqual({ code: 0, stderr: '' });
  });
  beforeEach(() => {
    tmp = privateTmp();
  });
  afterEach(() => {
    removeContainer(LOCK);
    expectNothingLeft({ tmp, volumePrefix: VOLUME_PREFIX, allowedVolumes: [VOLUME] });
    tmp.cleanup();
  });
  afterAll(() => {
    [appA, appB, sleepy].forEach((d) => d?.cleanup());
    [TAG_A, TAG_B].forEach(removeImage);
    for (const volume of volumesWithPrefix(VOLUME_PREFIX)) docker(['volume', 'rm', '-f', volume]);
  });

  it('makes a build that starts while another holds the lock wait, and each image has its own binary', async () => {
    const first = build(appA, TAG_A, ['--buildpack', sleepy.path]);
    await first.waitForStderr(HOLDING);
    const second = build(appB, TAG_B);
    const [a, b] = await Promise.all([first.done, second.done]);
    expectBuilt(a, TAG_A);
    expectBuilt(b, TAG_B);
    expect(b.stderr).toMatch(/Waiting for build [0-9a-f]{12}, which is using cache volume gobuild-cnb-test-hostile-lock-shared\n/);
    expect(a.stderr).not.toMatch(/Waiting for build/);
    expect(runImage(TAG_A)).toBe('this is app A');
    expect(runImage(TAG_B)).toBe('this is app B');
    await expectWarmBuild(appA.path, TAG_A, VOLUME, tmp.env);
  });

  it('lets exactly one of two builds started in the same instant go first, and both images are right', async () => {
    const first = build(appA, TAG_A, ['--buildpack', sleepy.path]);
    const second = build(appB, TAG_B, ['--buildpack', sleepy.path]);
    const [a, b] = await Promise.all([first.done, second.done]);
    expectBuilt(a, TAG_A);
    expectBuilt(b, TAG_B);
    const waited = [a, b].filter((r) => /Waiting for build [0-9a-f]{12}, which is using cache volume/.test(r.stderr));
    expect(waited).toHaveLength(1);
    expect(runImage(TAG_A)).toBe('this is app A');
    expect(runImage(TAG_B)).toBe('this is app B');
  });

  it('reaps the container of a build killed with SIGKILL while holding the lock, in seconds, in one line', async () => {
    const endless = sleepyBuildpack(600);
    const doomed = build(appA, TAG_A, ['--buildpack', endless.path]);
    await doomed.waitForStderr(HOLDING).finally(() => doomed.child.kill('SIGKILL'));
    await doomed.done;
    endless.cleanup();
    const started = Date.now();
    const next = await build(appB, TAG_B).done;
    const seconds = (Date.now() - started) / 1000;
    expectBuilt(next, TAG_B);
    expect(next.stderr.match(/Removed container [0-9a-f]{12} of a build that ended without cleaning up\n/g)).toHaveLength(1);
    // A warm build takes a few seconds; waiting for the dead build would take 15 minutes.
    expect(seconds).toBeLessThan(60);
    expect(runImage(TAG_B)).toBe('this is app B');
    // The killed CLI's temp dir was removed by the next build (its pid is gone).
    expect(tmp.left()).toEqual([]);
    await expectWarmBuild(appA.path, TAG_A, VOLUME, tmp.env);
  });

  it('reaps a lock holder that was created but never started (a build killed between the two)', async () => {
    docker(['create', '--name', LOCK, '--label', 'io.gobuild-cnb.build=killed', '-v', `${VOLUME}:/cache`, '--entrypoint', 'true', TEST_BUILDER]);
    const next = await build(appB, TAG_B).done;
    expectBuilt(next, TAG_B);
    expect(next.stderr).toMatch(/Waiting for build [0-9a-f]{12}, which is using cache volume/);
    expect(next.stderr).toMatch(/Removed container [0-9a-f]{12} of a build that ended without cleaning up\n/);
    expect(runImage(TAG_B)).toBe('this is app B');
  });

  it('refuses --clear-cache (exit 5) while another build holds the volume, and that build is unharmed', async () => {
    const first = build(appA, TAG_A, ['--buildpack', sleepy.path]);
    await first.waitForStderr(HOLDING);
    const clearing = await build(appB, TAG_B, ['--clear-cache']).done;
    expect(clearing.code).toBe(5);
    expect(clearing.stderr).toMatch(/cannot clear cache volume gobuild-cnb-test-hostile-lock-shared: container [0-9a-f]{12} is using it/);
    expect(clearing.stderr).toMatch(/hint: Wait for the other build to finish and run again, or give this build its own cache with --cache-volume/);
    expectBuilt(await first.done, TAG_A);
    expect(runImage(TAG_A)).toBe('this is app A');
    await expectWarmBuild(appA.path, TAG_A, VOLUME, tmp.env);
  });

  it('does not hold the lock with --keep-container: the kept container still runs and the next build does not wait', async () => {
    const kept = await build(appA, TAG_A, ['--keep-container']).done;
    expectBuilt(kept, TAG_A);
    const id = /Kept build container ([0-9a-f]{12})/.exec(kept.stderr)?.[1];
    expect(id).toBeDefined();
    try {
      // Still there for `docker exec -it` after the CLI has ended.
      expect(docker(['exec', id as string, 'echo', 'still here'])).toBe('still here');
      const next = await build(appB, TAG_B).done;
      expectBuilt(next, TAG_B);
      expect(next.stderr).not.toMatch(/Waiting for build/);
      expect(runImage(TAG_B)).toBe('this is app B');
    } finally {
      removeContainer(id as string);
    }
  });

  it('leaves no cache volume when detect fails on a new cache volume, and keeps an existing one', async () => {
    const notGo = testdir({ 'README.md': 'no Go here\n' });
    try {
      const fresh = `${VOLUME_PREFIX}-new`;
      const failed = await runCli(['build', notGo.path, '-t', TAG_B, '--cache-volume', fresh, ...BUILDER_ARGS], { env: tmp.env });
      expect(failed.code).toBe(20);
      expect(failed.stderr).toMatch(/no Go app detected/);
      expect(failed.stderr).toMatch(/hint: /);
      expect(volumesWithPrefix(fresh)).toEqual([]);
      const onShared = await runCli(['build', notGo.path, '-t', TAG_B, '--cache-volume', VOLUME, ...BUILDER_ARGS], { env: tmp.env });
      expect(onShared.code).toBe(20);
      expect(volumesWithPrefix(VOLUME)).toEqual([VOLUME]);
      await expectWarmBuild(appA.path, TAG_A, VOLUME, tmp.env);
    } finally {
      notGo.cleanup();
    }
  });
});
