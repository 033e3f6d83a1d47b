/** Run the compiled CLI (bin/gobuild-cnb) as a user would, with a bounded time. */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');
export const CLI = join(REPO_ROOT, 'bin', 'gobuild-cnb');
export const TEST_BUILDER = 'gobuild-cnb/test-builder:bookworm';
export const TEST_RUN_IMAGE = 'gobuild-cnb/test-run:bookworm';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Resolves when stderr so far matches the pattern (rejects when the run ends first). */
  waitForStderr(pattern: RegExp): Promise<void>;
}

export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): CliRun {
  // The launcher is a sh script (it runs `node -- main.js`): spawn it as a user's shell would.
  const child = spawn(CLI, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, CI: 'true', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void; reject: (e: Error) => void }> = [];
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) {
      if (w.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of waiters) w.reject(new Error(`CLI ended before stderr matched ${w.pattern}:\n${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForStderr: (pattern) =>
      pattern.test(stderr) ? Promise.resolve() : new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject })),
  };
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

export function docker(args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync('docker', args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 }).trim();
}

/**
 * Build containers of the tests still in the engine. Tests name their images gobuild-cnb-test/...
 * or their cache volumes gobuild-cnb-test-..., so a container counts when it mounts such a
 * volume: builds of other programs on the same engine (a benchmark, a developer) are not ours.
 */
export function buildContainersLeft(env?: NodeJS.ProcessEnv, scope = 'gobuild-cnb-test'): string[] {
  const ids = docker(['ps', '-aq', '--filter', 'label=io.gobuild-cnb.build'], env).split('\n').filter(Boolean);
  return ids.filter((id) => {
    try {
      return docker(['inspect', '--format', '{{range .Mounts}}{{.Name}} {{end}}', id], env).includes(scope);
    } catch {
      return false; // removed meanwhile
    }
  });
}

export function removeImage(ref: string): void {
  try {
    docker(['rmi', '-f', ref]);
  } catch {
    // already gone
  }
}

/** GET http://127.0.0.1:port/ with bounded retries while the app starts. */
export async function httpGet(port: number, attempts = 50): Promise<string> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
      return await res.text();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no answer on 127.0.0.1:${port}: ${String(last)}`);
}
