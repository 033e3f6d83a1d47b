/**
 * `gobuild-cnb build` end to end, as a user runs it: the compiled CLI, a real Docker engine,
 * the local test builder and run image, the real Go toolchain.
 */
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { buildContainersLeft, docker, httpGet, removeImage, runCli, startCli, REPO_ROOT, TEST_BUILDER } from '../helpers/cli';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const BUILDER_ARGS = ['--builder', TEST_BUILDER, '--pull-policy', 'never'];
const HELLO = join(REPO_ROOT, 'fixtures', 'hello');

const twoBinaries = {
  'go.mod': 'module example.com/multi\n\ngo 1.22\n',
  'cmd/api/main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("this is api") }\n',
  'cmd/worker/main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("this is worker") }\n',
};

describeWithDocker('gobuild-cnb build', () => {
  jest.setTimeout(600_000);
  const images: string[] = [];
  let multi: TestDir;

  beforeAll(() => {
    multi = testdir(twoBinaries);
  });
  afterAll(() => {
    multi.cleanup();
    images.forEach(removeImage);
  });
  afterEach(() => {
    expect(buildContainersLeft()).toEqual([]);
  });

  it('builds fixtures/hello into an image that answers over HTTP as a non-root user', async () => {
    const tag = 'gobuild-cnb-test/hello:it';
    images.push(tag);
    const result = await runCli(['build', HELLO, '-t', tag, ...BUILDER_ARGS]);
    expect(result.stderr).toContain('===> BUILD');
    expect(result.code).toBe(0);
    const [image, id] = result.stdout.trim().split(' ');
    expect(image).toBe(tag);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', tag])).toBe(id);

    const container = docker(['run', '-d', '--rm', '-p', '127.0.0.1::8080', tag]);
    try {
      const port = Number(docker(['port', container, '8080/tcp']).split('\n')[0].split(':').pop());
      expect(await httpGet(port)).toContain('hello from gobuild-cnb');
      expect(docker(['exec', container, 'id', '-u'])).toBe('1000');
    } finally {
      docker(['rm', '-f', container]);
    }
  });

  it('gives each binary a process: the first is the default, --entrypoint runs the second', async () => {
    const tag = 'gobuild-cnb-test/multi:it';
    images.push(tag);
    const result = await runCli(['build', multi.path, '-t', tag, ...BUILDER_ARGS, '--json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { processes: Array<{ type: string }>; defaultProcess: string; id: string };
    expect(json.processes.map((p) => p.type).sort()).toEqual(['api', 'worker']);
    expect(docker(['run', '--rm', tag])).toBe(`this is ${json.defaultProcess}`);
    expect(docker(['run', '--rm', '--entrypoint', 'worker', tag])).toBe('this is worker');
    expect(docker(['run', '--rm', '--entrypoint', 'api', tag])).toBe('this is api');
    const config = JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config}}', tag])) as {
      User: string;
      WorkingDir: string;
      Labels: Record<string, string>;
    };
    expect(config.User).not.toMatch(/^(root|0)?(:|$)/);
    expect(config.WorkingDir).toBe('/workspace');
    expect(Object.keys(config.Labels)).toEqual(
      expect.arrayContaining(['io.buildpacks.lifecycle.metadata', 'io.buildpacks.build.metadata', 'io.buildpacks.project.metadata']),
    );
  });

  it('passes --env to the buildpack: the binary prints the version injected with ldflags', async () => {
    const tag = 'gobuild-cnb-test/hello:it';
    const result = await runCli(['build', HELLO, '-t', tag, ...BUILDER_ARGS, '--env', 'BP_GO_BUILD_LDFLAGS=-X main.version=1.2.3-it']);
    expect(result.code).toBe(0);
    expect(docker(['run', '--rm', tag, '--version'])).toBe('1.2.3-it');
  });

  it('keeps --env values out of the image, its config and the output', async () => {
    const tag = 'gobuild-cnb-test/secret:it';
    images.push(tag);
    const secret = 's3cr3t-value-7f3a9c';
    const result = await runCli(['build', multi.path, '-t', tag, ...BUILDER_ARGS, '--verbose', '--env', `GOPRIVATE_TOKEN=${secret}`]);
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(secret);
    expect(docker(['image', 'inspect', tag])).not.toContain(secret);
    const saved = execFileSync('docker', ['save', tag], { maxBuffer: 512 * 1024 * 1024 });
    expect(saved.includes(Buffer.from(secret))).toBe(false);
  });

  it('builds a static binary for --run-image scratch, hermetically with --network none', async () => {
    const tag = 'gobuild-cnb-test/scratch:it';
    images.push(tag);
    const result = await runCli(['build', multi.path, '-t', tag, ...BUILDER_ARGS, '--run-image', 'scratch', '--network', 'none']);
    expect(result.code).toBe(0);
    expect(docker(['run', '--rm', '--entrypoint', 'worker', tag])).toBe('this is worker');
    // Nothing but our layers: no shell, no libc.
    expect(() => docker(['run', '--rm', '--entrypoint', '/bin/sh', tag, '-c', 'true'])).toThrow();
  });

  it('refuses a dynamically linked binary on a run image without a libc (exit 62), saying what to do', async () => {
    const result = await runCli(['build', multi.path, '-t', 'gobuild-cnb-test/nolibc:it', ...BUILDER_ARGS, '--run-image', 'scratch', '--env', 'BP_GO_BUILD_FLAGS=-buildmode=pie']);
    expect(result.code).toBe(62);
    expect(result.stderr).toMatch(/dynamically linked: it needs the C library's loader \/lib64\/ld-linux-x86-64\.so\.2, but the run image scratch has none/);
    expect(result.stderr).toMatch(/hint: Build a static binary/);
  });

  it('ships the files BP_KEEP_FILES keeps under /workspace, and no sources', async () => {
    const tag = 'gobuild-cnb-test/keep:it';
    images.push(tag);
    const app = testdir({ ...twoBinaries, 'static/index.html': '<h1>kept</h1>\n' });
    try {
      const result = await runCli(['build', app.path, '-t', tag, ...BUILDER_ARGS, '--env', 'BP_KEEP_FILES=static/*']);
      expect(result.code).toBe(0);
      const listing = docker(['run', '--rm', '--entrypoint', '/bin/sh', tag, '-c', 'cat /workspace/static/index.html; ls -A /workspace']);
      expect(listing).toBe('<h1>kept</h1>\nstatic');
    } finally {
      app.cleanup();
    }
  });

  it('gives the same image ID for the same inputs', async () => {
    const tag = 'gobuild-cnb-test/repro:it';
    images.push(tag);
    const first = await runCli(['build', multi.path, '-t', tag, ...BUILDER_ARGS]);
    expect(first.code).toBe(0);
    removeImage(tag);
    const second = await runCli(['build', multi.path, '-t', tag, ...BUILDER_ARGS]);
    expect(second.code).toBe(0);
    expect(second.stdout.split(' ')[1]).toBe(first.stdout.split(' ')[1]);
  });

  it('fails a compile error with exit 51, shows file:line, and leaves no container', async () => {
    const broken = testdir({ 'go.mod': 'module example.com/broken\n\ngo 1.22\n', 'main.go': 'package main\n\nfunc main() {\n\tundefinedThing()\n}\n' });
    try {
      const result = await runCli(['build', broken.path, '-t', 'gobuild-cnb-test/broken:it', ...BUILDER_ARGS]);
      expect(result.code).toBe(51);
      expect(result.stderr).toMatch(/main\.go:4:\d+: undefined: undefinedThing/);
      expect(result.stderr).toMatch(/ERROR: the Go code did not compile \(bin\/build exited with 1\)/);
      expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    } finally {
      broken.cleanup();
    }
  });

  it('fails detection with exit 20 and says what was looked for', async () => {
    const notGo = testdir({ 'README.md': '# not a Go app\n' });
    try {
      const result = await runCli(['build', notGo.path, '-t', 'gobuild-cnb-test/notgo:it', ...BUILDER_ARGS]);
      expect(result.code).toBe(20);
      expect(result.stderr).toMatch(/go\.mod/);
      expect(result.stderr).toMatch(/hint:/);
    } finally {
      notGo.cleanup();
    }
  });

  it('stops on SIGINT in the build phase with exit 130 and removes its container', async () => {
    // -a rebuilds the standard library: a build phase long enough to interrupt.
    const run = startCli(['build', multi.path, '-t', 'gobuild-cnb-test/interrupted:it', ...BUILDER_ARGS, '--env', 'BP_GO_BUILD_FLAGS=-a']);
    await run.waitForStderr(/===> BUILD/);
    await new Promise((r) => setTimeout(r, 1500));
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/interrupted/);
  });

  it('says how to get a missing builder under --pull-policy never (exit 4)', async () => {
    const result = await runCli(['build', HELLO, '-t', 'gobuild-cnb-test/x:it', '--builder', 'gobuild-cnb/no-such-builder:1', '--pull-policy', 'never']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/no-such-builder:1 is not in the Docker daemon/);
    expect(result.stderr).toMatch(/hint: .*docker pull/);
  });

  it('says how to start an engine when none answers (exit 3)', async () => {
    const result = await runCli(['build', HELLO, '-t', 'gobuild-cnb-test/x:it', ...BUILDER_ARGS], {
      env: { DOCKER_HOST: 'unix:///tmp/gobuild-cnb-no-such.sock' },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/no Docker engine answers/);
    expect(result.stderr).toMatch(/hint: .*setup-docker\.sh/);
  });
});
