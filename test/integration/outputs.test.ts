/**
 * `--output oci:<dir>` and `--output oci-archive:<file>`: the compiled CLI, a real engine, the
 * test builder; the results are checked with an independent tool (skopeo) and run with docker.
 * The same app built to the daemon gives the same image ID (same config, same diffIds).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { buildContainersLeft, docker, removeImage, runCli, TEST_BUILDER } from '../helpers/cli';

const printsALine = {
  'go.mod': 'module example.com/outputs\n\ngo 1.22\n',
  'main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from an OCI image") }\n',
};

interface BuildJson {
  image: string;
  id: string;
  digest?: string;
}

function skopeo(args: string[]): string {
  return execFileSync('skopeo', args, { encoding: 'utf8', timeout: 120_000 }).trim();
}

describeWithDocker('gobuild-cnb build --output oci / oci-archive', () => {
  jest.setTimeout(600_000);
  const tag = 'gobuild-cnb-test/outputs:it';
  const copied = 'gobuild-cnb-test/outputs-copy';
  const volume = 'gobuild-cnb-test-outputs-it';
  let app: TestDir;
  let work: string;
  const env = (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: join(work, 'xdg-cache') });
  const build = (extra: string[]) =>
    runCli(['build', app.path, '-t', tag, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', volume, '--json', ...extra], { env: env() });

  beforeAll(() => {
    app = testdir(printsALine);
    work = mkdtempSync(join(tmpdir(), 'gobuild-cnb-outputs-'));
  });
  afterAll(() => {
    app.cleanup();
    rmSync(work, { recursive: true, force: true });
    [tag, `${copied}:layout`, `${copied}:archive`].forEach(removeImage);
    docker(['volume', 'rm', '-f', volume]);
  });
  afterEach(() => {
    expect(buildContainersLeft()).toEqual([]);
  });

  it('writes an OCI layout that skopeo reads and copies into a runnable image with the daemon build’s ID', async () => {
    const daemon = await build([]);
    expect(daemon.code).toBe(0);
    const daemonId = (JSON.parse(daemon.stdout) as BuildJson).id;

    const layout = join(work, 'layout');
    const result = await build(['--output', `oci:${layout}`, '--verbose']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/run image layers \(\d+\) from the daemon/);
    const json = JSON.parse(result.stdout) as BuildJson;
    expect(json).toMatchObject({ image: tag, id: daemonId });

    const inspected = JSON.parse(skopeo(['inspect', `oci:${layout}:${tag}`])) as { Digest: string; Os: string; Architecture: string; Layers: string[] };
    expect(inspected.Digest).toBe(json.digest);
    expect(inspected).toMatchObject({ Os: 'linux', Architecture: 'amd64' });
    const config = JSON.parse(skopeo(['inspect', '--config', `oci:${layout}:${tag}`])) as { rootfs: { diff_ids: string[] } };
    expect(config.rootfs.diff_ids).toEqual(JSON.parse(docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', tag])));

    skopeo(['copy', `oci:${layout}:${tag}`, `docker-daemon:${copied}:layout`]);
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', `${copied}:layout`])).toBe(daemonId);
    expect(docker(['run', '--rm', `${copied}:layout`])).toBe('hello from an OCI image');

    // The run image's layers now come from the blob cache, not from docker save again.
    const again = await build(['--output', `oci:${layout}`, '--verbose']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/run image layers \(\d+\) from the cache/);
    expect(JSON.parse(again.stdout)).toMatchObject({ id: daemonId, digest: json.digest });
  });

  it('writes an OCI archive with the static run image that skopeo copies into a runnable image', async () => {
    const daemon = await build(['--run-image', 'static']);
    expect(daemon.code).toBe(0);
    const daemonId = (JSON.parse(daemon.stdout) as BuildJson).id;

    const archive = join(work, 'app.tar');
    const result = await build(['--run-image', 'static', '--output', `oci-archive:${archive}`]);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as BuildJson;
    expect(json.id).toBe(daemonId);
    const inspected = JSON.parse(skopeo(['inspect', `oci-archive:${archive}:${tag}`])) as { Digest: string };
    expect(inspected.Digest).toBe(json.digest);

    skopeo(['copy', `oci-archive:${archive}:${tag}`, `docker-daemon:${copied}:archive`]);
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', `${copied}:archive`])).toBe(daemonId);
    expect(docker(['run', '--rm', `${copied}:archive`])).toBe('hello from an OCI image');
  });

  it('refuses an output directory that exists and is not an OCI layout, saying what to give instead', async () => {
    const notALayout = join(work, 'not-a-layout');
    mkdirSync(notALayout);
    writeFileSync(join(notALayout, 'notes.txt'), 'mine');
    const result = await build(['--output', `oci:${notALayout}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot write an OCI layout to ${JSON.stringify(notALayout)}`);
    expect(result.stderr).toMatch(/hint: .*new or empty directory/);
  });
});
