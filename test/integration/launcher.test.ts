/**
 * `gobuild-cnb build` with a builder that ships /cnb/lifecycle/launcher
 * (gobuild-cnb/test-builder-launcher:bookworm, made by scripts/launcher-builder.sh with the
 * stand-in launcher of fixtures/fake-launcher): the image starts every process through the
 * launcher, as the CNB spec asks, and the launcher finds them in config/metadata.toml.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { docker, removeImage, runCli, REPO_ROOT } from '../helpers/cli';

const run = promisify(execFile);
const LAUNCHER_BUILDER = 'gobuild-cnb/test-builder-launcher:bookworm';
const TAG = 'gobuild-cnb-test/launcher:it';
const TEST_LABEL = 'io.gobuild-cnb.test=launcher';

const twoBinaries = {
  'go.mod': 'module example.com/multi\n\ngo 1.22\n',
  'cmd/api/main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("this is api") }\n',
  'cmd/worker/main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("this is worker") }\n',
};

/** `docker run --rm` of the built image, labelled, with no network; extra args go before the image. */
function runImage(before: string[] = [], after: string[] = []): string {
  return docker(['run', '--rm', '--pull', 'never', '--network', 'none', '--label', TEST_LABEL, ...before, TAG, ...after]);
}

/** The same, for a run that must fail: its exit code and stderr. */
async function runImageFailing(before: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run('docker', ['run', '--rm', '--pull', 'never', '--network', 'none', '--label', TEST_LABEL, ...before, TAG], { timeout: 60_000 });
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
  throw new Error('the container was expected to fail');
}

describeWithDocker('gobuild-cnb build with a builder that ships a launcher', () => {
  jest.setTimeout(300_000);
  let app: TestDir;
  let json: { defaultProcess: string; processes: Array<{ type: string }>; cache: { volume: string } };

  beforeAll(async () => {
    app = testdir(twoBinaries);
    await run('bash', [resolve(REPO_ROOT, 'scripts/launcher-builder.sh')], { timeout: 120_000 });
    const result = await runCli(['build', app.path, '-t', TAG, '--builder', LAUNCHER_BUILDER, '--pull-policy', 'never', '--json'], {
      timeoutMs: 240_000,
    });
    if (result.code !== 0) throw new Error(`build failed (exit ${result.code}):\n${result.stderr}`);
    json = JSON.parse(result.stdout) as typeof json;
  });
  afterAll(async () => {
    app?.cleanup();
    await runCli(['cache', 'rm', TAG], { timeoutMs: 60_000 });
    removeImage(TAG);
  });

  it('leaves no build container', () => {
    // Only this build's (its cache volume tells it apart): other builds may be running.
    expect(docker(['ps', '-aq', '--filter', 'label=io.gobuild-cnb.build', '--filter', `volume=${json.cache.volume}`])).toBe('');
  });

  it('runs the default process through the launcher, and --entrypoint <type> picks another', () => {
    expect(json.processes.map((p) => p.type).sort()).toEqual(['api', 'worker']);
    expect(json.defaultProcess).toBe('api');
    expect(runImage()).toBe('this is api');
    expect(runImage(['--entrypoint', 'worker'])).toBe('this is worker');
  });

  it('starts through the launcher: without CNB_PLATFORM_API it refuses, as the real one does', async () => {
    const refused = await runImageFailing(['--env', 'CNB_PLATFORM_API=']);
    expect(refused.code).toBeGreaterThanOrEqual(80);
    expect(refused.code).toBeLessThan(90);
    expect(refused.stderr).toContain('CNB_PLATFORM_API');
  });

  it('has the launcher config: CNB_PLATFORM_API, /cnb/process entrypoint and symlinks, launcher layer', () => {
    const image = JSON.parse(docker(['image', 'inspect', TAG]))[0] as {
      Config: { Env: string[]; Entrypoint: string[]; Labels: Record<string, string> };
      RootFS: { Layers: string[] };
    };
    expect(image.Config.Env).toEqual(expect.arrayContaining([expect.stringMatching(/^CNB_PLATFORM_API=\d+\.\d+$/)]));
    expect(image.Config.Env.find((e) => e.startsWith('PATH='))).toMatch(/^PATH=\/cnb\/process(:|$)/);
    expect(image.Config.Entrypoint).toEqual([`/cnb/process/${json.defaultProcess}`]);
    expect(runImage(['--entrypoint', '/bin/sh'], ['-c', 'readlink /cnb/process/worker; readlink /cnb/process/api'])).toBe(
      '/cnb/lifecycle/launcher\n/cnb/lifecycle/launcher',
    );

    const lifecycle = JSON.parse(image.Config.Labels['io.buildpacks.lifecycle.metadata']) as { launcher?: { sha: string } };
    expect(lifecycle.launcher?.sha).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.RootFS.Layers).toContain(lifecycle.launcher?.sha);
  });

  it("ships the builder's launcher unchanged", () => {
    const stamp = docker(['image', 'inspect', '--format', '{{ index .Config.Labels "io.gobuild-cnb.launcher-stamp" }}', LAUNCHER_BUILDER]);
    const builderSha = /launcher=sha256:([0-9a-f]{64})/.exec(stamp)?.[1];
    expect(builderSha).toBeDefined();
    expect(runImage(['--entrypoint', '/bin/sh'], ['-c', 'sha256sum /cnb/lifecycle/launcher']).split(' ')[0]).toBe(builderSha);
  });
});
