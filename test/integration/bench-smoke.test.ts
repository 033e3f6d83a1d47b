/**
 * The benchmark's own parts, quickly: the generated app builds offline from vendor/ and runs, the
 * one-line edit edits one line, and the helpers turn CLI output and samples into the numbers and
 * verdicts `npm run bench` prints. Needs go and zip on the host, no Docker.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMidApp, editOneLine } from '../../scripts/bench/gen-app';
import { median, parseTimeVMaxRss, parseJsonResult, layerBytesSent } from '../../scripts/bench/exec';
import { summarize, judgeTargets, writeDocs, GENERATED_MARKER, type Samples } from '../../scripts/bench/report';

describe('bench app generator', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-bench-smoke-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a vendored app that builds with no proxy at all and runs', () => {
    const app = join(dir, 'app');
    const { editFile } = generateMidApp(app, { packages: 6 });
    const vendored = readFileSync(join(app, 'vendor', 'modules.txt'), 'utf8');
    for (const module of ['example.com/quote', 'example.com/benchkit/mathx', 'example.com/benchkit/strs']) expect(vendored).toContain(`# ${module} v1.0.0`);
    const env = { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=vendor', GOTOOLCHAIN: 'local' };
    execFileSync('go', ['build', '-trimpath', '-o', join(dir, 'app.bin'), '.'], { cwd: app, env, stdio: 'pipe', timeout: 180_000 });
    const output = execFileSync(join(dir, 'app.bin'), ['--once'], { timeout: 10_000 }).toString();
    expect(output).toMatch(/^Bench App \(quote v1\.0\.0 from the file proxy\) total=\d+/);
    expect(existsSync(editFile)).toBe(true);
  }, 240_000);

  it('edits exactly one line, and a second edit replaces the first', () => {
    const file = join(dir, 'main.go');
    const source = 'package main\n\nfunc main() {\n\tprintln("hello from gobuild-cnb")\n}\n';
    writeFileSync(file, source);
    expect(editOneLine(file, '1', 'hello from')).toBe(4);
    editOneLine(file, '2', 'hello from');
    const edited = readFileSync(file, 'utf8').split('\n');
    expect(edited).toHaveLength(source.split('\n').length);
    expect(edited[3]).toBe('\tprintln("hello from gobuild-cnb edit-2")');
    expect(() => editOneLine(file, '3', 'no such marker')).toThrow(/no line/);
  });
});

describe('bench helpers', () => {
  it('reads the --json result and the layer bytes it sent', () => {
    const json = parseJsonResult('{"id":"sha256:abc","layerBytesSent":0,"timings":{"build":1200}}\n');
    expect(json?.id).toBe('sha256:abc');
    expect(layerBytesSent(json)).toBe(0);
    const layers = { layers: [{ size: 10, reused: true }, { size: 32, reused: false }] };
    expect(layerBytesSent(layers)).toBe(32);
    // A result that says nothing about reuse is unknown, never zero.
    expect(layerBytesSent({ layers: [{ size: 10 }] })).toBeNull();
    expect(parseJsonResult('not json')).toBeNull();
  });

  it('takes medians and /usr/bin/time -v peak RSS', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null, undefined])).toBeNull();
    expect(parseTimeVMaxRss('\tMaximum resident set size (kbytes): 81234\n')).toBe(81234 * 1024);
  });

  it('turns samples into ratios and judges the targets', () => {
    const s = (ms: number, bytesSent: number | null = null) => ({ ms, bytesSent, imageId: null });
    const samples: Samples = {
      mid: {
        cold: { gobuild: [s(30_000), s(32_000), s(40_000)], docker: [s(28_000)], floor: [s(25_000)] },
        'one-line': { gobuild: [s(3_000, 9)], docker: [s(8_000)], floor: [s(2_000)] },
        'no-change': { gobuild: [s(1_500, 0), s(2_500, 0), s(1_000, 0)], docker: [s(500)], floor: [s(900)] },
      },
    };
    const rows = summarize(samples);
    expect(rows.map((r) => [r.scenario, r.gobuild, r.vsDocker, r.overFloor])).toEqual([
      ['cold', 32_000, 32_000 / 28_000, 7_000],
      ['one-line', 3_000, 3_000 / 8_000, 1_000],
      ['no-change', 1_500, 3, 600],
    ]);
    const verdicts = Object.fromEntries(judgeTargets(rows, { peakRss: 250e6, layerMb: 300 }).map((t) => [t.target, t.result]));
    expect(verdicts).toEqual({
      'Cold build at most 1.1 x docker build cold (mid)': 'NOT met',
      'One-line change at most floor + 1.5 s (mid)': 'met',
      'One-line change at most 0.5 x docker build (mid)': 'met',
      'No-change rebuild under 2 s wall (mid)': 'met',
      'No-change rebuild sends zero layer bytes (mid)': 'met',
      'Peak CLI memory exporting a 300 MB layer under 200 MB': 'NOT met',
    });
  });

  it('keeps the hand-written intro of the docs page and replaces the generated part', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-bench-docs-'));
    try {
      const file = join(dir, 'benchmarks.md');
      writeFileSync(file, `# Benchmarks\n\nHand-written.\n\n${GENERATED_MARKER}\n\nold table\n`);
      writeDocs(file, '# fallback\n', `${GENERATED_MARKER}\n\nnew table\n`);
      expect(readFileSync(file, 'utf8')).toBe(`# Benchmarks\n\nHand-written.\n\n${GENERATED_MARKER}\n\nnew table\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
