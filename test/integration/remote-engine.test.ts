/**
 * `gobuild-cnb build` against a remote engine: DOCKER_HOST=tcp://127.0.0.1:PORT served by a
 * second dockerd (scripts/start-second-dockerd.sh). Nothing of the host's file system reaches
 * that engine except through the Docker API, so this is what a build on another machine sees.
 */
import { randomBytes } from 'node:crypto';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { buildContainersLeft, docker, runCli, TEST_BUILDER, TEST_RUN_IMAGE } from '../helpers/cli';
import { startSecondEngine, type SecondEngine } from '../helpers/second-engine';

const TEST_LABEL = 'io.gobuild-cnb.test=remote-engine';

const fmtApp = {
  'go.mod': 'module example.com/remote\n\ngo 1.22\n',
  'main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("built on the other engine") }\n',
};

/** The image's ID in the engine env points at, or '' when it has no such image. */
function imageId(ref: string, env?: NodeJS.ProcessEnv): string {
  return docker(['image', 'ls', '--quiet', '--no-trunc', ref], env);
}

describeWithDocker('gobuild-cnb build with DOCKER_HOST=tcp://127.0.0.1 (a second engine)', () => {
  jest.setTimeout(300_000);
  let engine: SecondEngine;
  let app: TestDir;
  const tag = `gobuild-cnb-test/remote-engine:${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    app = testdir(fmtApp);
    engine = await startSecondEngine([TEST_BUILDER, TEST_RUN_IMAGE]);
  });
  afterAll(async () => {
    app?.cleanup();
    if (!engine) return;
    try {
      await runCli(['cache', 'rm', tag], { env: engine.env, timeoutMs: 60_000 });
      docker(['rmi', '-f', tag], engine.env);
    } finally {
      await engine.stop();
    }
  });

  it('builds in the second engine, leaves the image there only, and it runs there', async () => {
    expect(engine.dockerHost).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const result = await runCli(['build', app.path, '-t', tag, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--json'], {
      env: engine.env,
      timeoutMs: 240_000,
    });
    expect(result.stderr).toContain('===> EXPORT');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { image: string; id: string; cache: { volume: string } };
    expect(json.image).toBe(tag);

    expect(imageId(tag, engine.env)).toBe(json.id);
    expect(imageId(tag)).toBe('');

    // The second engine has no bridge network: run with none (the app needs no network).
    const output = docker(['run', '--rm', '--pull', 'never', '--network', 'none', '--label', TEST_LABEL, tag], engine.env);
    expect(output).toBe('built on the other engine');

    // The build container and its cache volume lived in the second engine only. (Other builds
    // may run in the first engine meanwhile, so there we look for this build's traces only.)
    const left = buildContainersLeft(engine.env);
    if (left.length > 0) process.stderr.write(`build containers left; the CLI said:\n${result.stderr}\n`);
    expect(left).toEqual([]);
    expect(docker(['volume', 'ls', '-q', '--filter', `name=${json.cache.volume}`], engine.env)).toBe(json.cache.volume);
    expect(docker(['volume', 'ls', '-q', '--filter', `name=${json.cache.volume}`])).toBe('');
    expect(docker(['ps', '-aq', '--filter', 'label=io.gobuild-cnb.build', '--filter', `volume=${json.cache.volume}`])).toBe('');
  });
});
