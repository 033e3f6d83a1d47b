/**
 * Layers stream through every stage: a 50 MB layer must not grow the process by anything like
 * its size (the real thing is a 300 MB layer on a small CI machine).
 */
import { closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipLayer } from './compress';
import { buildImageConfig, serializeConfig } from './config';
import { writeDockerLoadArchive } from './docker-archive';
import { writeLayer } from './layer';

const MB = 1024 * 1024;

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'gobuild-cnb-memory-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A 50 MB file of varied bytes, written in 1 MB pieces. */
function bigFile(path: string, size: number): void {
  const piece = Buffer.alloc(MB);
  for (let i = 0; i < piece.length; i++) piece[i] = (i * 31 + (i >> 9)) & 0xff;
  const fd = openSync(path, 'w');
  for (let written = 0; written < size; written += piece.length) writeSync(fd, piece);
  closeSync(fd);
}

/** Peak RSS growth over `baseline` while `work` runs, sampled every few milliseconds. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 2);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage.rss()) - baseline;
}

it('writes, compresses and packs a 50 MB layer with flat memory', async () => {
  const host = join(scratch, 'app');
  mkdirSync(join(host, 'bin'), { recursive: true });
  bigFile(join(host, 'bin/big'), 50 * MB);
  const out = join(scratch, 'out');
  mkdirSync(out);
  // Warm-up: load every module and JIT the paths before measuring.
  const warm = await writeLayer({ entries: { entries: [{ type: 'file', path: '/a', content: 'a' }] }, outDir: out, uid: 0, gid: 0 });
  await gzipLayer(warm, out);

  const growth = await peakRssGrowth(async () => {
    const layer = await writeLayer({ entries: { dirs: [{ hostDir: host, imagePath: '/workspace' }] }, outDir: out, uid: 1000, gid: 1000 });
    expect(layer.size).toBeGreaterThan(50 * MB);
    const blob = await gzipLayer(layer, out);
    expect(blob.descriptor.size).toBeLessThan(layer.size);
    const config = buildImageConfig({
      base: null,
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [{ diffId: layer.diffId, createdBy: 'app' }],
      env: [],
      entrypoint: ['/workspace/bin/big'],
      workingDir: '/workspace',
    });
    await writeDockerLoadArchive(createWriteStream(join(scratch, 'image.tar')), {
      configBytes: serializeConfig(config).bytes,
      layers: [layer],
      repoTags: [],
    });
  });
  expect(growth).toBeLessThan(60 * MB);
}, 15_000);
