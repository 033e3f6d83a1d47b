/**
 * `--publish`: the compiled CLI pushes to a real registry server on 127.0.0.1 (Debian's
 * docker-registry); docker pulls and runs the result. Also where the run image's layers come
 * from: the daemon (docker save), the run image's own registry (mounted, nothing copied), or
 * a download from that registry when the daemon no longer has it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { buildContainersLeft, docker, removeImage, runCli, TEST_BUILDER, TEST_RUN_IMAGE } from '../helpers/cli';
import { freePort, startRegistry, type LocalRegistry } from '../helpers/registry';
import { FakeDockerClient } from '../helpers/fake-docker';
import { runImageBlobs } from '../../src/build/export/run-image-layers';
import { RegistryClients } from '../../src/registry/clients';
import type { Reporter } from '../../src/ui/reporter';
import type { Digest } from '../../src/image/types';
import type { DockerClient } from '../../src/docker/client';
import { DockerodeClient } from '../../src/docker/dockerode-client';

const printsALine = {
  'go.mod': 'module example.com/published\n\ngo 1.22\n',
  'main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from a registry") }\n',
};

interface BuildJson {
  image: string;
  id: string;
  digest: string;
}

const silent: Reporter = { phaseStart() {}, phaseEnd() {}, info() {}, detail() {}, warn() {}, output() {}, flush() {} };

describeWithDocker('gobuild-cnb build --publish', () => {
  jest.setTimeout(600_000);
  const volume = 'gobuild-cnb-test-publish-it';
  const localImages: string[] = [];
  let registry: LocalRegistry;
  let app: TestDir;
  let work: string;
  const build = (tag: string, extra: string[]) =>
    runCli(['build', app.path, '-t', tag, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', volume, '--json', ...extra], {
      env: { XDG_CACHE_HOME: join(work, 'xdg-cache') },
    });
  const pullAndRun = (ref: string): string => {
    localImages.push(ref);
    docker(['pull', '--quiet', ref]);
    return docker(['run', '--rm', ref]);
  };

  beforeAll(async () => {
    registry = await startRegistry();
    app = testdir(printsALine);
    work = mkdtempSync(join(tmpdir(), 'gobuild-cnb-publish-'));
  });
  afterAll(async () => {
    app.cleanup();
    rmSync(work, { recursive: true, force: true });
    localImages.forEach(removeImage);
    docker(['volume', 'rm', '-f', volume]);
    await registry.stop();
  });
  afterEach(() => {
    expect(buildContainersLeft()).toEqual([]);
  });

  it('pushes an image docker pulls and runs, with the daemon build’s ID; a second push uploads nothing', async () => {
    const local = 'gobuild-cnb-test/publish:it';
    localImages.push(local);
    const daemon = await build(local, []);
    expect(daemon.code).toBe(0);
    const daemonId = (JSON.parse(daemon.stdout) as BuildJson).id;

    const tag = `${registry.host}/team/app:1`;
    const first = await build(tag, ['--publish', '--verbose']);
    expect(first.code).toBe(0);
    const pushed = JSON.parse(first.stdout) as BuildJson;
    expect(pushed).toMatchObject({ image: tag, id: daemonId });
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.stderr).toMatch(/run image layers \(\d+\) from the daemon/);
    expect(first.stderr).toMatch(/blob sha256:[0-9a-f]{12} uploaded/);

    expect(pullAndRun(tag)).toBe('hello from a registry');
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', tag])).toBe(daemonId);
    expect(docker(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', tag])).toBe(`${registry.host}/team/app@${pushed.digest}`);

    const second = await build(tag, ['--publish', '--verbose']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ id: daemonId, digest: pushed.digest });
    expect(second.stderr).toMatch(/Pushed \S+: 0 blobs uploaded \(0 B\), \d+ already there, 0 mounted/);
    expect(second.stderr).not.toMatch(/blob sha256:[0-9a-f]{12} uploaded/);
  });

  it('pushes an image on the static run image', async () => {
    const tag = `${registry.host}/team/static:1`;
    const result = await build(tag, ['--run-image', 'static', '--publish']);
    expect(result.code).toBe(0);
    expect(pullAndRun(tag)).toBe('hello from a registry');
  });

  it('mounts the run image’s layers when it lives on the same registry, and can download them when the daemon lacks it', async () => {
    const runImage = `${registry.host}/base/run:bookworm`;
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `docker-daemon:${TEST_RUN_IMAGE}`, `docker://${runImage}`], { timeout: 300_000 });
    docker(['tag', TEST_RUN_IMAGE, runImage]);
    localImages.push(runImage);

    const tag = `${registry.host}/team/mounted:1`;
    const result = await build(tag, ['--run-image', runImage, '--publish', '--verbose']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`run image layers \\(\\d+\\) from its registry \\(${runImage.replace(/[.]/g, '\\.')}\\)`));
    expect(result.stderr).toMatch(/Pushed \S+: \d+ blobs uploaded \(.*\), 0 already there, [1-9]\d* mounted/);
    expect(result.stderr).toContain('mounted from base/run');
    expect(pullAndRun(tag)).toBe('hello from a registry');

    // The daemon no longer has it: its layers are downloaded, unpacked (diffIds checked) and
    // gzipped like the daemon's, so the blobs are the ones docker save would give.
    const diffIds = JSON.parse(docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', runImage])) as Digest[];
    const registries = new RegistryClients([]);
    try {
      const blobsFor = (docker: DockerClient, cacheDir: string) =>
        runImageBlobs({ docker, reporter: silent, runImage: { ref: runImage, diffIds }, platform: { os: 'linux', architecture: 'amd64' }, workDir: join(work, 'download'), registries, cacheDir });
      const downloaded = await blobsFor(new FakeDockerClient(), join(work, 'cache-from-registry'));
      expect(downloaded.source).toBe('registry download');
      const saved = await blobsFor(new DockerodeClient(), join(work, 'cache-from-daemon'));
      expect(saved.source).toBe('daemon');
      expect(downloaded.blobs.map((b) => b.descriptor)).toEqual(saved.blobs.map((b) => b.descriptor));
    } finally {
      registries.close();
    }
  });

  it('says which registry it cannot reach (exit 62)', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const result = await build(`${host}/team/app:1`, ['--publish']);
    expect(result.code).toBe(62);
    expect(result.stderr).toContain(`cannot reach registry ${host}`);
    expect(result.stderr).toMatch(/hint: Nothing listens on/);
  });
});
