/**
 * ssh://[user@]host[:port] engines, reached as the docker CLI reaches them: each connection is
 * the system `ssh` running `docker system dial-stdio` on the remote host, so ~/.ssh/config,
 * known_hosts, keys and the agent all apply as they do for `docker -H ssh://...`. (docker-modem's
 * own ssh transport accepts any host key and only agent keys.) GOBUILD_CNB_SSH_COMMAND replaces
 * `ssh` (like GIT_SSH_COMMAND, run through sh), e.g. `ssh -F ./ssh_config`.
 */
import { spawn } from 'node:child_process';
import { Agent, type AgentOptions } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** ssh://user@host:port -> its parts; a path after the host is not supported and refused earlier. */
export function parseSshAddress(address: string): SshTarget {
  const url = new URL(address);
  return {
    user: url.username ? decodeURIComponent(url.username) : undefined,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : undefined,
  };
}

/**
 * The argv after the ssh command: `-o BatchMode=yes` so a password prompt can never hang a build
 * (keys and the agent still work), and `--` so a host can never be read as an option.
 */
export function sshArgs(target: SshTarget): string[] {
  const args = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-T'];
  if (target.user) args.push('-l', target.user);
  if (target.port) args.push('-p', String(target.port));
  return [...args, '--', target.host, 'docker', 'system', 'dial-stdio'];
}

/** The failure of one ssh connection, with what ssh said (its last lines). */
export class SshDialError extends Error {
  readonly code = 'ESSHDIAL';
  constructor(
    readonly target: SshTarget,
    readonly exitCode: number | null,
    readonly sshMessage: string,
  ) {
    super(`ssh to ${target.user ? `${target.user}@` : ''}${target.host}${target.port ? `:${target.port}` : ''} ended (exit ${exitCode ?? 'by signal'}): ${sshMessage || 'no message'}`);
  }
}

const STDERR_KEPT = 4096;

/** An http.Agent whose connections are ssh processes. */
export class SshDialAgent extends Agent {
  constructor(
    private readonly target: SshTarget,
    private readonly env: NodeJS.ProcessEnv = process.env,
    options: AgentOptions = {},
  ) {
    super({ keepAlive: true, ...options });
  }

  override createConnection(): Socket {
    const custom = this.env.GOBUILD_CNB_SSH_COMMAND;
    const child = custom
      ? spawn('/bin/sh', ['-c', `${custom} "$@"`, 'ssh', ...sshArgs(this.target)], { stdio: ['pipe', 'pipe', 'pipe'], env: this.env })
      : spawn('ssh', sshArgs(this.target), { stdio: ['pipe', 'pipe', 'pipe'], env: this.env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    // The answer ends when ssh ends, not when its stdout does: a refused key or host closes the
    // pipes first, and only the exit code and stderr say why.
    const answer = new PassThrough();
    child.stdout.pipe(answer, { end: false });
    child.stdin.on('error', () => undefined); // EPIPE when ssh is gone: its exit says why
    const socket = Duplex.from({ readable: answer, writable: child.stdin }) as Duplex & Partial<Socket>;
    child.on('error', (err) => socket.destroy(err));
    child.on('close', (code) => {
      if (code === 0) answer.end();
      else if (!socket.destroyed) socket.destroy(new SshDialError(this.target, code, stderr.trim().split('\n').slice(-3).join(' ')));
    });
    socket.on('close', () => {
      if (child.exitCode === null) child.kill();
    });
    // What http.Agent and ClientRequest call on a net.Socket. An idle kept-alive connection must
    // not keep the CLI running: unref lets the process end, as it does for a socket.
    const pipes = [child.stdin, child.stdout, child.stderr] as unknown as Array<{ ref(): void; unref(): void }>;
    const self = socket as unknown as Record<string, unknown>;
    for (const name of ['setTimeout', 'setNoDelay', 'setKeepAlive']) self[name] = () => socket;
    self.ref = () => (child.ref(), pipes.forEach((p) => p.ref()), socket);
    self.unref = () => (child.unref(), pipes.forEach((p) => p.unref()), socket);
    return socket as unknown as Socket;
  }
}
