/**
 * Engines beyond the local socket (issue #14): an ssh:// DOCKER_HOST against a real sshd on
 * 127.0.0.1 (host and client keys made by the test; the remote side is this machine's own docker
 * CLI running `docker system dial-stdio`), and docker contexts made by the test in a private
 * DOCKER_CONFIG. The ssh client is the system ssh, pointed at the test's ssh_config through
 * GOBUILD_CNB_SSH_COMMAND (OpenSSH reads ~/.ssh from the passwd entry, not $HOME).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { docker, REPO_ROOT, runCli, TEST_BUILDER } from '../helpers/cli';
import { expectNothingLeft, privateTmp, type PrivateTmp } from '../helpers/hostile';

const SCOPE = 'engines';
const VOLUME = `gobuild-cnb-test-${SCOPE}-cache`;
/** The build writes an OCI archive on this host: no image lands in the engine. */
const TAG = `gobuild-cnb-test/${SCOPE}-hello:it`;
const HELLO = join(REPO_ROOT, 'fixtures', 'hello');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function keygen(file: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gobuild-cnb-test', '-f', file], { timeout: 30_000 });
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Waits (bounded) until the port accepts a TCP connection. */
async function waitForPort(port: number, sshd: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (sshd.exitCode !== null) throw new Error(`sshd ended (${sshd.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port}: ${log()}`);
}

describeWithDocker('engines: ssh:// and docker contexts', () => {
  let dir: string;
  let port: number;
  let sshd: ChildProcess;
  let sshdLog = '';
  let tmp: PrivateTmp;
  let address: string;
  /** ssh_config variants: the right key and host key, a key the host refuses, a host key that does not match. */
  const sshConfig = (name: string, identity: string, knownHosts: string): string => {
    const file = join(dir, `ssh_config-${name}`);
    writeFileSync(
      file,
      [
        'Host 127.0.0.1',
        `  IdentityFile ${identity}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${knownHosts}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  IdentityAgent none',
      ].join('\n') + '\n',
    );
    return `ssh -F ${file}`;
  };
  let good: string;
  let refusedKey: string;
  let unknownHost: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `gobuild-cnb-test-${SCOPE}-`));
    tmp = privateTmp();
    port = await freePort();
    address = `ssh://root@127.0.0.1:${port}`;
    const hostPub = keygen(join(dir, 'host_key'));
    const clientPub = keygen(join(dir, 'client_key'));
    keygen(join(dir, 'stranger_key'));
    const otherHostPub = keygen(join(dir, 'other_host_key'));
    writeFileSync(join(dir, 'authorized_keys'), `${clientPub}\n`);
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub.split(' ').slice(0, 2).join(' ')}\n`);
    writeFileSync(join(dir, 'known_hosts_other'), `[127.0.0.1]:${port} ${otherHostPub.split(' ').slice(0, 2).join(' ')}\n`);
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        `PidFile ${join(dir, 'sshd.pid')}`,
      ].join('\n') + '\n',
    );
    mkdirSync('/run/sshd', { recursive: true });
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd.stderr?.on('data', (c: Buffer) => (sshdLog = (sshdLog + c.toString()).slice(-8000)));
    await waitForPort(port, sshd, () => sshdLog);
    good = sshConfig('good', join(dir, 'client_key'), join(dir, 'known_hosts'));
    refusedKey = sshConfig('refused', join(dir, 'stranger_key'), join(dir, 'known_hosts'));
    unknownHost = sshConfig('unknown-host', join(dir, 'client_key'), join(dir, 'known_hosts_other'));
  }, 60_000);

  afterAll(() => {
    sshd?.kill();
    try {
      docker(['volume', 'rm', '-f', VOLUME]);
    } catch {
      // not made
    }
    tmp?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds over ssh://, names the engine first, writes the output on this host, and leaves nothing', async () => {
    const out = join(dir, 'hello.oci.tar');
    const result = await runCli(
      ['build', HELLO, '-t', TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', VOLUME, '--output', `oci-archive:${out}`, '--verbose', '--json'],
      { env: { ...tmp.env, DOCKER_HOST: address, GOBUILD_CNB_SSH_COMMAND: good } },
    );
    
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).engine).toEqual({ address, source: 'DOCKER_HOST' });
    // The first line of the story names the engine.
    expect(result.stderr.split('\n').find((l) => l.trim() !== '')).toMatch(/engine: ssh:\/\/root@127\.0\.0\.1/);
    expect(existsSync(out)).toBe(true);
    expect(execFileSync('tar', ['-tf', out], { encoding: 'utf8' })).toMatch(/^index\.json$/m);
    expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
    // sshd saw the build's connections, as root with the test's key.
    expect(sshdLog).toMatch(/Accepted publickey for root from 127\.0\.0\.1/);
  }, 300_000);

  it('says the host refused the key, exit 3, with what to do', async () => {
    const result = await runCli(['build', HELLO, '-t', TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never'], {
      env: { ...tmp.env, DOCKER_HOST: address, GOBUILD_CNB_SSH_COMMAND: refusedKey },
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot reach the Docker engine at ssh:\/\/root@127\.0\.0\.1:\d+ over ssh: .*Permission denied/);
    expect(result.stderr).toMatch(/hint: The host refused the key: add your public key/);
    expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(tmp.left()).toEqual([]);
  }, 90_000);

  it('says the host key is unknown or changed, exit 3', async () => {
    const result = await runCli(['cache', 'ls'], { env: { DOCKER_HOST: address, GOBUILD_CNB_SSH_COMMAND: unknownHost }, timeoutMs: 60_000 });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect(result.stderr).toMatch(/hint: 127\.0\.0\.1's host key is not in known_hosts, or it changed/);
  }, 90_000);

  describe('docker contexts', () => {
    let config: string;
    const context = (name: string, host: string): void => {
      const id = createHash('sha256').update(name).digest('hex');
      mkdirSync(join(config, 'contexts', 'meta', id), { recursive: true });
      writeFileSync(join(config, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
    };
    beforeAll(() => {
      config = join(dir, 'docker-config');
      context('test-ssh', address);
      context('test-gone', `unix://${join(dir, 'no-engine.sock')}`);
    });

    it('uses the current context of the docker config, and --context over it', async () => {
      writeFileSync(join(config, 'config.json'), JSON.stringify({ currentContext: 'test-gone' }));
      const env = { DOCKER_CONFIG: config, DOCKER_HOST: '', GOBUILD_CNB_SSH_COMMAND: good };
      const current = await runCli(['cache', 'ls'], { env, timeoutMs: 60_000 });
      expect(current.code).toBe(3);
      expect(current.stderr).toMatch(/no Docker engine answers at unix:\/\/.*no-engine\.sock/);
      const chosen = await runCli(['cache', 'ls', '--json', '--context', 'test-ssh'], { env, timeoutMs: 60_000 });
      expect(chosen.code).toBe(0);
      expect(JSON.parse(chosen.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: VOLUME })]));
    }, 120_000);

    it('DOCKER_CONTEXT picks a context; DOCKER_HOST wins over it, as in the docker CLI', async () => {
      const env = { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'test-gone', GOBUILD_CNB_SSH_COMMAND: good };
      expect((await runCli(['cache', 'ls'], { env: { ...env, DOCKER_HOST: '' }, timeoutMs: 60_000 })).code).toBe(3);
      expect((await runCli(['cache', 'ls'], { env: { ...env, DOCKER_HOST: address }, timeoutMs: 60_000 })).code).toBe(0);
    }, 120_000);

    it('names an unknown context, exit 2, before any engine is asked', async () => {
      const result = await runCli(['--context', 'nope', 'cache', 'ls'], { env: { DOCKER_CONFIG: config }, timeoutMs: 30_000 });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/the docker context "nope" \(from --context\) does not exist/);
      expect(result.stderr).toMatch(/hint: .*docker context ls/);
    }, 60_000);
  });
});
