/**
 * startRegistry: a real registry server (Debian's docker-registry, via scripts/start-registry.sh)
 * on a free 127.0.0.1 port, optionally with htpasswd (bcrypt) auth. Call stop() in afterAll.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(__dirname, '../../scripts/start-registry.sh');
const SCRIPT_TIMEOUT_MS = 60_000;

export interface LocalRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

export interface RegistryAuth {
  username: string;
  password: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startRegistry(options: { auth?: RegistryAuth } = {}): Promise<LocalRegistry> {
  const port = await freePort();
  const workDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-registry-'));
  const env = { ...process.env, GOBUILD_CNB_REGISTRY_DIR: join(workDir, 'state') };
  const args = [String(port)];
  if (options.auth) {
    const htpasswdFile = join(workDir, 'htpasswd');
    writeFileSync(htpasswdFile, await htpasswdLine(options.auth));
    args.push('--htpasswd', htpasswdFile);
  }
  const stop = async (): Promise<void> => {
    try {
      await run('bash', [SCRIPT, '--stop', String(port)], { env, timeout: SCRIPT_TIMEOUT_MS });
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  };
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { env, timeout: SCRIPT_TIMEOUT_MS });
    return { host: stdout.trim(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A bcrypt htpasswd entry (the only kind docker-registry accepts), at the lowest cost (4) to keep tests fast. */
async function htpasswdLine({ username, password }: RegistryAuth): Promise<string> {
  try {
    const { stdout } = await run('htpasswd', ['-nbB', '-C', '4', username, password]);
    return stdout.trim() + '\n';
  } catch {
    const script = 'import crypt,sys; print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))';
    const { stdout } = await run('python3', ['-W', 'ignore', '-c', script, username, password]);
    return stdout.trim() + '\n';
  }
}
