/** Phase orchestration through a recording fake Docker client: order, users, cleanup, exit codes. */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseBuildpackToml } from '../cnb/files';
import { runBuild } from './build';
import { resolveBuildOptions } from './options';
import { BUNDLED_BUILDPACK_DIR } from './prepare/inputs';
import { RecordingReporter } from '../ui/reporter';
import { defaultCacheVolumeName } from '../cache/cache-volume';
import { FakeDockerClient, imageSummary } from '../../test/helpers/fake-docker';
import { testdir, type TestDir } from '../../test/helpers/testdir';
import { BuildFailedError, DetectError, DetectFailedError, ExitCode, ImageUnavailableError, InterruptedError, UsageError } from '../errors';

const BUILDER = 'example/builder:1';
const RUN = 'example/run:1';

describe('runBuild orchestration', () => {
  let app: TestDir;
  beforeEach(() => {
    app = testdir({ 'go.mod': 'module example.com/app\n\ngo 1.22\n', 'main.go': 'package main\n\nfunc main() {}\n', '.git/HEAD': 'ref\n' });
  });
  afterEach(() => app.cleanup());

  const options = (extra: Record<string, unknown> = {}) =>
    resolveBuildOptions(app.path, { tag: 'my-app', builder: BUILDER, runImage: RUN, pullPolicy: 'never', ...extra }, {
      cwd: app.path,
      env: {},
      bundledBuildpackDir: BUNDLED_BUILDPACK_DIR,
    });
  const images = {
    [BUILDER]: imageSummary({ config: { Env: ['PATH=/usr/bin', 'CNB_USER_ID=1001', 'CNB_GROUP_ID=1002'], Labels: {} } }),
    [RUN]: imageSummary({ config: { Labels: { 'io.buildpacks.base.distro.name': 'debian' } } }),
  };

  it('runs detect then build as the builder user in one container, and removes it after a failure', async () => {
    const docker = new FakeDockerClient({ images, exec: [{ match: '/bin/build', exitCode: 1, output: 'main.go:3:1: syntax error\n' }] });
    const reporter = new RecordingReporter();
    await expect(runBuild(options(), { docker, reporter, signals: new EventEmitter() })).rejects.toBeInstanceOf(BuildFailedError);
    const steps = docker.calls.map((c) => c.split(' ')[0]);
    expect(steps).toEqual([
      'info',
      'inspectImage', // builder
      'inspectImage', // run image
      'createVolume', // the build cache
      'createContainer', // named after the cache volume: taking its lock
      'attachStdin', // ties the container's life to ours
      'putArchive',
      'startContainer',
      'exec', // restore the cache and read the cache layers' metadata
      'exec', // detect
      'inspectImage', // the previous image of the tag
      'exec', // build
      'removeContainer',
    ]);
    expect(docker.calls.filter((c) => c.startsWith('exec')).map((c) => c.split(' ').slice(2).join(' '))).toEqual([
      '1001:1002 /cnb/gobuild-cnb/inventory.sh', // after restore.sh, in the same exec
      `1001:1002 ${'/cnb/buildpacks/gobuild-cnb_go/'}${readVersion()}/bin/detect`,
      `1001:1002 ${'/cnb/buildpacks/gobuild-cnb_go/'}${readVersion()}/bin/build`,
    ]);
    expect(docker.containers.get('container-1')?.labels).toHaveProperty(['io.gobuild-cnb.build']);
    expect(docker.containers.get('container-1')?.volumes).toEqual([{ name: defaultCacheVolumeName('my-app'), target: '/layers/gobuild-cnb_go' }]);
    expect(reporter.lines.join('\n')).toContain('main.go:3:1: syntax error');
  });

  it('turns detect exit 100 into DetectFailedError (exit 20) with the buildpack output', async () => {
    const docker = new FakeDockerClient({ images, exec: [{ match: '/bin/detect', exitCode: 100, output: 'no go.mod, go.work or *.go in /workspace\n' }] });
    const err = await runBuild(options(), { docker, reporter: new RecordingReporter(), signals: new EventEmitter() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DetectFailedError);
    expect((err as DetectFailedError).code).toBe(ExitCode.DetectFailed);
    expect((err as DetectFailedError).details).toContain('no go.mod');
    expect(docker.removed).toEqual(['container-1']);
    // The cache volume this build made is empty: it goes too, after the container.
    const volume = defaultCacheVolumeName('my-app');
    expect(docker.calls.filter((c) => /^(createVolume|removeVolume|removeContainer)/.test(c))).toEqual([
      `createVolume ${volume}`,
      'removeContainer container-1',
      `removeVolume ${volume}`,
    ]);
  });

  it('never removes a cache volume that existed before a failed build', async () => {
    class ExistingVolume extends FakeDockerClient {
      override async volumeExists(): Promise<boolean> {
        return true;
      }
    }
    const docker = new ExistingVolume({ images, exec: [{ match: '/bin/detect', exitCode: 100 }] });
    await expect(runBuild(options(), { docker, reporter: new RecordingReporter(), signals: new EventEmitter() })).rejects.toBeInstanceOf(DetectFailedError);
    expect(docker.calls.filter((c) => c.startsWith('removeVolume'))).toEqual([]);
  });

  it('turns any other detect exit into DetectError (exit 21)', async () => {
    const docker = new FakeDockerClient({ images, exec: [{ match: '/bin/detect', exitCode: 1, output: 'BP_GO_TARGETS: ./nope does not exist\n' }] });
    await expect(runBuild(options(), { docker, reporter: new RecordingReporter(), signals: new EventEmitter() })).rejects.toBeInstanceOf(DetectError);
    expect(docker.removed).toEqual(['container-1']);
  });

  it('removes the container at once on SIGINT during build and ends with InterruptedError', async () => {
    const signals = new EventEmitter();
    const docker = new FakeDockerClient({ images, exec: [{ match: '/bin/build', exitCode: 137, hook: () => void signals.emit('SIGINT') }] });
    const err = await runBuild(options(), { docker, reporter: new RecordingReporter(), signals }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).code).toBe(130);
    expect(docker.removed).toContain('container-1');
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  it('handles SIGHUP (terminal closed) like SIGINT', async () => {
    const signals = new EventEmitter();
    const docker = new FakeDockerClient({ images, exec: [{ match: '/bin/detect', exitCode: 137, hook: () => void signals.emit('SIGHUP') }] });
    const err = await runBuild(options(), { docker, reporter: new RecordingReporter(), signals }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).message).toMatch(/SIGHUP/);
    expect(docker.removed).toContain('container-1');
    expect(signals.listenerCount('SIGHUP')).toBe(0);
  });

  it('exits with 130 at once on a second signal, without waiting for the cleanup', async () => {
    const exits: number[] = [];
    const signals = Object.assign(new EventEmitter(), { exit: (code: number) => void exits.push(code) });
    const reporter = new RecordingReporter();
    const docker = new FakeDockerClient({
      images,
      exec: [
        {
          match: '/bin/build',
          exitCode: 137,
          hook: () => {
            signals.emit('SIGINT');
            expect(exits).toEqual([]);
            signals.emit('SIGINT');
          },
        },
      ],
    });
    await runBuild(options(), { docker, reporter, signals }).catch(() => undefined);
    expect(exits[0]).toBe(130);
    expect(reporter.lines.join('\n')).toMatch(/second SIGINT: stopping now/);
  });

  it('keeps the container with --keep-container and says how to get a shell', async () => {
    const docker = new FakeDockerClient({ images, exec: [{ match: '/bin/build', exitCode: 2 }] });
    const reporter = new RecordingReporter();
    await expect(runBuild(options({ keepContainer: true }), { docker, reporter, signals: new EventEmitter() })).rejects.toThrow();
    expect(docker.removed).toEqual([]);
    expect(reporter.lines.join('\n')).toMatch(/docker exec -it container-1 sh/);
    // Kept under another name: it no longer holds the cache volume's lock.
    expect(docker.calls).toContain('renameContainer container-1 gobuild-cnb-kept-container-1');
  });

  it('refuses an --output oci: path that is not a layout before touching Docker', async () => {
    const docker = new FakeDockerClient({ images });
    const taken = testdir({ 'notes.txt': 'mine\n' });
    try {
      const err = await runBuild(options({ output: `oci:${taken.path}` }), { docker, reporter: new RecordingReporter(), signals: new EventEmitter() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toMatch(/neither empty nor an OCI image layout/);
      expect(docker.calls).toEqual([]);
    } finally {
      taken.cleanup();
    }
  });

  it('fails before creating a container when the builder is missing under --pull-policy never', async () => {
    const docker = new FakeDockerClient({ images: {} });
    await expect(runBuild(options(), { docker, reporter: new RecordingReporter(), signals: new EventEmitter() })).rejects.toBeInstanceOf(ImageUnavailableError);
    expect(docker.calls.some((c) => c.startsWith('createContainer'))).toBe(false);
  });
});

function readVersion(): string {
  return parseBuildpackToml(readFileSync(join(BUNDLED_BUILDPACK_DIR, 'buildpack.toml'), 'utf8')).version;
}
