/**
 * Multi-platform images by cross-compiling in the one builder (no emulation): an arm64 image
 * built on amd64 holds an aarch64 binary and says arm64 in its config; two platforms make an
 * OCI image index.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { runCli, TEST_BUILDER } from '../helpers/cli';

interface Descriptor {
  digest: string;
  mediaType: string;
  platform?: { os: string; architecture: string };
}

const blob = (layout: string, digest: string): Buffer => readFileSync(join(layout, 'blobs', 'sha256', digest.replace('sha256:', '')));
const json = <T>(layout: string, digest: string): T => JSON.parse(blob(layout, digest).toString('utf8')) as T;

/** The ELF e_machine of the file at `name` inside a gzipped layer tar (a minimal tar walk). */
function elfMachineIn(layerGz: Buffer, name: string): number | undefined {
  const tar = gunzipSync(layerGz);
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    const entry = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (!entry) return undefined;
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    const body = offset + 512;
    if (entry === name) return tar.readUInt16LE(body + 18);
    offset = body + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

const EM_X86_64 = 0x3e;
const EM_AARCH64 = 0xb7;

describeWithDocker('multi-platform builds', () => {
  jest.setTimeout(600_000);
  let app: TestDir;
  let out: string;
  beforeAll(() => {
    app = testdir({ 'go.mod': 'module example.com/plat\n\ngo 1.22\n', 'main.go': 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("plat") }\n' });
    out = mkdtempSync(join(tmpdir(), 'gobuild-cnb-platform-'));
  });
  afterAll(() => {
    app.cleanup();
    rmSync(out, { recursive: true, force: true });
  });

  it('cross-compiles linux/amd64 and linux/arm64 into one OCI index, each binary for its architecture', async () => {
    const layout = join(out, 'layout');
    const tag = 'gobuild-cnb-test/plat:it';
    const result = await runCli([
      'build', app.path, '-t', tag, '--builder', TEST_BUILDER, '--pull-policy', 'never',
      '--run-image', 'static', '--platform', 'linux/amd64,linux/arm64', '--output', `oci:${layout}`, '--json',
    ]);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { platforms: string[] }).platforms).toEqual(['linux/amd64', 'linux/arm64']);

    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    // The layout's index points at the image index of the tag.
    const top = index.manifests.find((m) => m.mediaType.includes('index')) ?? index.manifests[0];
    const imageIndex = top.mediaType.includes('index') ? json<{ manifests: Descriptor[] }>(layout, top.digest) : index;
    const byArch = new Map(imageIndex.manifests.map((m) => [m.platform?.architecture, m]));
    expect([...byArch.keys()].sort()).toEqual(['amd64', 'arm64']);

    for (const [arch, machine] of [['amd64', EM_X86_64], ['arm64', EM_AARCH64]] as const) {
      const manifest = json<{ config: Descriptor; layers: Descriptor[] }>(layout, byArch.get(arch)!.digest);
      const config = json<{ architecture: string; os: string }>(layout, manifest.config.digest);
      expect(config).toMatchObject({ os: 'linux', architecture: arch });
      const machines = manifest.layers.map((l) => elfMachineIn(blob(layout, l.digest), 'layers/gobuild-cnb_go/targets/bin/plat'));
      expect(machines.filter((m) => m !== undefined)).toEqual([machine]);
    }
  });

  it('refuses a platform the run image does not have, saying what to do', async () => {
    const result = await runCli([
      'build', app.path, '-t', 'gobuild-cnb-test/plat:it', '--builder', TEST_BUILDER, '--pull-policy', 'never',
      '--platform', 'linux/arm64', '--output', `oci:${join(out, 'refused')}`,
    ]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/run image gobuild-cnb\/test-run:bookworm is linux\/amd64, not linux\/arm64/);
    expect(result.stderr).toMatch(/hint: .*--run-image static/);
  });
});
