/**
 * A CNB sandbox for running buildpack/bin/detect and buildpack/bin/build on the host, the
 * way the platform runs them in a builder: app dir as cwd, positional args, CNB_* env and
 * only an allow-listed environment (no GOCACHE/GOPATH/GOFLAGS from the machine running
 * jest). Nothing here reaches the internet: GOPROXY is off or a file:// proxy from fixtures/,
 * GOTOOLCHAIN=local, GOSUMDB=off.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '../..');
export const buildpackDir = join(repoRoot, 'buildpack');
export const fixturesDir = join(repoRoot, 'fixtures');
export const goproxyUrl = `file://${join(fixturesDir, 'goproxy')}`;
export const hostGoArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
export const otherGoArch = hostGoArch === 'arm64' ? 'amd64' : 'arm64';

/** The go command of the machine running the tests. */
export const realGo = execFileSync('sh', ['-c', 'command -v go || echo /usr/local/go/bin/go']).toString().trim();

/**
 * One GOCACHE shared by every test that is not about the cache, so each (GOARCH, buildmode)
 * variant of the standard library is compiled once per machine, not once per test. Go's
 * cache is safe for concurrent use and trims itself, so it is kept between runs.
 */
const sharedGocache = join(tmpdir(), 'gobuild-cnb-buildpack-test-gocache');

export type Shell = 'sh' | 'busybox';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout then stderr, for assertions that do not care which stream a line went to. */
  output: string;
}

export interface SandboxOptions {
  /** Point the gocache layer at the shared cache (default true). */
  sharedCache?: boolean;
}

let busyboxToolbox: string | undefined;

/**
 * A directory holding only busybox applets: with it as PATH (plus go's own bin dir), the
 * scripts run as in a busybox/Alpine builder, so any GNU-only tool or option fails the test.
 */
export function busyboxPath(extraDirs: string[] = [dirname(realGo)]): string {
  if (busyboxToolbox === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-busybox-'));
    const busybox = execFileSync('sh', ['-c', 'command -v busybox']).toString().trim();
    symlinkSync(busybox, join(dir, 'busybox'));
    for (const applet of execFileSync(busybox, ['--list']).toString().split('\n')) {
      if (applet && !applet.includes('/')) symlinkSync(busybox, join(dir, applet));
    }
    busyboxToolbox = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return [busyboxToolbox, ...extraDirs].join(':');
}

export class Sandbox {
  readonly root: string;
  readonly app: string;
  readonly layersRoot: string;
  /** <layers>/gobuild-cnb_go: argv[1] of bin/build and CNB_LAYERS_DIR. */
  readonly layers: string;
  readonly platform: string;
  readonly plan: string;

  private fixture?: string;

  private constructor(root: string, options: SandboxOptions) {
    this.root = root;
    this.app = join(root, 'workspace');
    this.layersRoot = join(root, 'layers');
    this.layers = join(this.layersRoot, 'gobuild-cnb_go');
    this.platform = join(root, 'platform');
    this.plan = join(root, 'plan.toml');
    for (const dir of [this.app, this.layers, join(this.platform, 'env'), join(root, 'home'), join(root, 'tmp')]) {
      mkdirSync(dir, { recursive: true });
    }
    writeFileSync(this.plan, '');
    if (options.sharedCache ?? true) {
      mkdirSync(sharedGocache, { recursive: true });
      symlinkSync(sharedGocache, join(this.layers, 'gocache'));
    }
  }

  /** A sandbox whose app dir is a copy of fixtures/<name> (the build deletes sources). */
  static fromFixture(name: string, options: SandboxOptions = {}): Sandbox {
    const sandbox = new Sandbox(mkdtempSync(join(tmpdir(), `gobuild-cnb-bp-${name}-`)), options);
    sandbox.fixture = name;
    sandbox.restoreSources();
    return sandbox;
  }

  /** Copy the fixture into the app dir again (a build removes the sources), for a rebuild. */
  restoreSources(): void {
    if (!this.fixture) throw new Error('restoreSources needs a sandbox made from a fixture');
    cpSync(join(fixturesDir, this.fixture), this.app, { recursive: true });
  }

  /** A sandbox whose app dir holds the given files. */
  static fromFiles(files: Record<string, string>, options: SandboxOptions = {}): Sandbox {
    const sandbox = new Sandbox(mkdtempSync(join(tmpdir(), 'gobuild-cnb-bp-files-')), options);
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(sandbox.app, rel)), { recursive: true });
      writeFileSync(join(sandbox.app, rel), content);
    }
    return sandbox;
  }

  /** The environment a platform gives a buildpack: an allow-list plus CNB_* and the user's env. */
  env(extra: Record<string, string | undefined> = {}): Record<string, string> {
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: join(this.root, 'home'),
      TMPDIR: join(this.root, 'tmp'),
      GOTOOLCHAIN: 'local',
      GOPROXY: 'off',
      GOSUMDB: 'off',
      GOFLAGS: '',
      CNB_BUILDPACK_DIR: buildpackDir,
      CNB_PLATFORM_DIR: this.platform,
      CNB_BUILD_PLAN_PATH: this.plan,
      CNB_BP_PLAN_PATH: this.plan,
      CNB_LAYERS_DIR: this.layers,
      CNB_TARGET_OS: 'linux',
      CNB_TARGET_ARCH: hostGoArch,
      ...extra,
    };
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  }

  detect(extraEnv: Record<string, string | undefined> = {}, shell: Shell = 'sh'): RunResult {
    return this.run('detect', [this.platform, this.plan], extraEnv, shell);
  }

  build(extraEnv: Record<string, string | undefined> = {}, shell: Shell = 'sh'): RunResult {
    return this.run('build', [this.layers, this.platform, this.plan], extraEnv, shell);
  }

  private run(phase: string, args: string[], extraEnv: Record<string, string | undefined>, shell: Shell): RunResult {
    const script = join(buildpackDir, 'bin', phase);
    // Under busybox, default to a PATH of busybox applets only, like a busybox builder.
    if (shell === 'busybox' && !('PATH' in extraEnv)) extraEnv = { ...extraEnv, PATH: busyboxPath() };
    const [command, argv] = shell === 'busybox' ? ['busybox', ['sh', script, ...args]] : ['sh', [script, ...args]];
    const result = spawnSync(command, argv, {
      cwd: this.app,
      env: this.env(extraEnv),
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.error) throw result.error;
    const stdout = result.stdout;
    const stderr = result.stderr;
    return { code: result.status ?? -1, stdout, stderr, output: `${stdout}\n${stderr}` };
  }

  bin(name: string): string {
    return join(this.layers, 'targets', 'bin', name);
  }

  /** Run a built binary and return its stdout. */
  runBinary(name: string): string {
    return execFileSync(this.bin(name), { encoding: 'utf8', env: {} });
  }

  /** `go version -m` of a built binary: module and build settings Go embedded. */
  buildInfo(name: string): string {
    return execFileSync(realGo, ['version', '-m', this.bin(name)], { encoding: 'utf8' });
  }

  read(rel: string): string {
    return readFileSync(join(this.layers, rel), 'utf8');
  }

  /** Every path left in the app dir, relative and sorted (directories end in /). */
  appTree(): string[] {
    const walk = (dir: string, prefix: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const rel = `${prefix}${entry.name}`;
        return entry.isDirectory() ? [`${rel}/`, ...walk(join(dir, entry.name), `${rel}/`)] : [rel];
      });
    return walk(this.app, '').sort();
  }

  exists(rel: string): boolean {
    return existsSync(join(this.layers, rel));
  }

  cleanup(): void {
    // The module cache is read-only on purpose (Go makes it so); make it removable.
    chmodTree(this.root);
    rmSync(this.root, { recursive: true, force: true });
  }
}

function chmodTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !entry.isSymbolicLink()) {
      const path = join(dir, entry.name);
      chmodSync(path, 0o755);
      chmodTree(path);
    }
  }
}

export interface ElfInfo {
  /** ET_EXEC (fixed address) or ET_DYN (position independent). */
  type: 'exec' | 'dyn' | 'other';
  machine: 'x86-64' | 'aarch64' | 'other';
  /** The program interpreter (dynamic loader), absent in a static binary. */
  interp?: string;
}

/** Read the ELF header and program headers of a 64-bit little-endian binary. */
export function elfInfo(path: string): ElfInfo {
  const elf = readFileSync(path);
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
  const eType = elf.readUInt16LE(16);
  const eMachine = elf.readUInt16LE(18);
  const phoff = Number(elf.readBigUInt64LE(32));
  const phentsize = elf.readUInt16LE(54);
  const phnum = elf.readUInt16LE(56);
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) === 3 /* PT_INTERP */) {
      const offset = Number(elf.readBigUInt64LE(ph + 8));
      const size = Number(elf.readBigUInt64LE(ph + 32));
      interp = elf.subarray(offset, offset + size).toString('latin1').replace(/\0+$/, '');
    }
  }
  return {
    type: eType === 2 ? 'exec' : eType === 3 ? 'dyn' : 'other',
    machine: eMachine === 62 ? 'x86-64' : eMachine === 183 ? 'aarch64' : 'other',
    interp,
  };
}

/**
 * `fixture(name)` for a test file: a sandbox made from fixtures/<name>, removed after the file.
 * `sharedCache` shares one Go build cache between tests that are not about the cache.
 */
export function useFixtures(defaultSharedCache = true): (name: string, sharedCache?: boolean) => Sandbox {
  const made: Sandbox[] = [];
  afterAll(() => made.forEach((s) => s.cleanup()));
  return (name, sharedCache = defaultSharedCache) => {
    const sandbox = Sandbox.fromFixture(name, { sharedCache });
    made.push(sandbox);
    return sandbox;
  };
}
