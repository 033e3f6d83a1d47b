/**
 * Which engine to talk to, resolved as the docker CLI resolves it (docs/engines.md):
 * `--context` > DOCKER_HOST > DOCKER_CONTEXT > the config's currentContext > the local socket.
 * A context is read from the docker config dir ($DOCKER_CONFIG, else ~/.docker): its endpoint
 * from contexts/meta/<sha256(name)>/meta.json and its TLS files from contexts/tls/<sha256(name)>/docker/.
 * Pure apart from reading those files; no engine is contacted here.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors';

export const DEFAULT_ENGINE_ADDRESS = 'unix:///var/run/docker.sock';

export interface EngineTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** false only when the context says SkipTLSVerify. */
  verify: boolean;
}

export interface EngineEndpoint {
  /** The engine's address, e.g. unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host. */
  address: string;
  /** Where the address came from, for the first --verbose line and --json. */
  source: string;
  /** The docker context it came from, when one did. */
  context?: string;
  tls?: EngineTls;
}

export interface EngineSelection {
  /** `--context NAME`. */
  context?: string;
}

const DOCKER_HOST_EXAMPLES = 'e.g. unix:///var/run/docker.sock, tcp://127.0.0.1:2375, ssh://user@host';

/**
 * An engine address as the engine client reads it: unix://<path>, npipe://<path>,
 * tcp|http|https://host[:port], ssh://[user@]host[:port]. Anything else would reach the engine
 * client as a bug of ours. `what` names where it came from (DOCKER_HOST, a context).
 */
export function checkEngineAddress(value: string, what = 'DOCKER_HOST'): void {
  const bad = (why: string): UsageError =>
    new UsageError(`${what}=${JSON.stringify(value)} ${why}`, {
      hint:
        what === 'DOCKER_HOST'
          ? `Set DOCKER_HOST to an engine address (${DOCKER_HOST_EXAMPLES}), or unset it for the local socket.`
          : `Fix the context's endpoint (docker context update NAME --docker host=...; ${DOCKER_HOST_EXAMPLES}).`,
    });
  const m = /^([a-z]+):\/\/(.*)$/.exec(value);
  if (!m) throw bad('is not an engine address (scheme://address)');
  const [, scheme, rest] = m;
  if (scheme === 'unix' || scheme === 'npipe') {
    if (!rest.startsWith('/') && !(scheme === 'npipe' && rest.startsWith('./'))) throw bad(`needs an absolute socket path after ${scheme}://`);
    return;
  }
  if (!['tcp', 'http', 'https', 'ssh'].includes(scheme)) throw bad(`has the scheme ${JSON.stringify(scheme)}; gobuild-cnb speaks unix, tcp, ssh and npipe`);
  const hostPort = (scheme === 'ssh' ? rest.replace(/^[^@/]+@/, '') : rest).replace(/\/.*$/, '');
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:(\d{1,5}))?$/.exec(hostPort);
  if (!hp) throw bad(`does not name a host (host:port after ${scheme}://)`);
  if (hp[4] !== undefined && (Number(hp[4]) < 1 || Number(hp[4]) > 65535)) throw bad(`has the port ${hp[4]}, outside 1-65535`);
}

export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${(err as Error).message}`, {
      hint: 'Fix or remove the file, or choose another context (docker context ls).',
      cause: err,
    });
  }
}

/** The config's currentContext, "" when there is none (or no config file). */
function currentContext(configDir: string): string {
  const file = join(configDir, 'config.json');
  if (!existsSync(file)) return '';
  const config = readJson(file, 'the docker config') as { currentContext?: unknown };
  return typeof config.currentContext === 'string' ? config.currentContext : '';
}

function readIfThere(file: string): Buffer | undefined {
  return existsSync(file) ? readFileSync(file) : undefined;
}

/** The default context: DOCKER_HOST (with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), else the local socket. */
function defaultEndpoint(env: NodeJS.ProcessEnv): EngineEndpoint {
  if (!env.DOCKER_HOST) return { address: DEFAULT_ENGINE_ADDRESS, source: 'the default socket' };
  checkEngineAddress(env.DOCKER_HOST);
  const endpoint: EngineEndpoint = { address: env.DOCKER_HOST, source: 'DOCKER_HOST' };
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (verify || env.DOCKER_CERT_PATH) {
    const dir = env.DOCKER_CERT_PATH || dockerConfigDir(env);
    endpoint.tls = { ca: readIfThere(join(dir, 'ca.pem')), cert: readIfThere(join(dir, 'cert.pem')), key: readIfThere(join(dir, 'key.pem')), verify };
  }
  return endpoint;
}

function contextEndpoint(name: string, source: string, env: NodeJS.ProcessEnv): EngineEndpoint {
  const configDir = dockerConfigDir(env);
  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = join(configDir, 'contexts', 'meta', id, 'meta.json');
  if (!existsSync(metaFile)) {
    throw new UsageError(`the docker context ${JSON.stringify(name)} (from ${source}) does not exist in ${configDir}`, {
      hint: 'List the contexts with `docker context ls`, or make one with `docker context create NAME --docker host=...`.',
    });
  }
  const meta = readJson(metaFile, `the docker context ${JSON.stringify(name)}`) as { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
  const docker = meta.Endpoints?.docker;
  if (typeof docker?.Host !== 'string' || docker.Host === '') {
    throw new UsageError(`the docker context ${JSON.stringify(name)} has no Docker endpoint`, {
      hint: 'Give it one with `docker context update NAME --docker host=...`.',
    });
  }
  checkEngineAddress(docker.Host, `the docker context ${JSON.stringify(name)} host`);
  const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
  const [ca, cert, key] = ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readIfThere(join(tlsDir, f)));
  const endpoint: EngineEndpoint = { address: docker.Host, source: `docker context ${name} (${source})`, context: name };
  if (ca || cert || key || docker.SkipTLSVerify === true) endpoint.tls = { ca, cert, key, verify: docker.SkipTLSVerify !== true };
  return endpoint;
}

/** The docker CLI's order; `default` is the context of DOCKER_HOST or the local socket. */
export function resolveEngineEndpoint(selection: EngineSelection, env: NodeJS.ProcessEnv): EngineEndpoint {
  const pick = (name: string, source: string): EngineEndpoint => (name === 'default' ? { ...defaultEndpoint(env), context: 'default' } : contextEndpoint(name, source, env));
  if (selection.context) return pick(selection.context, '--context');
  // As the docker CLI: DOCKER_HOST selects the default context, over DOCKER_CONTEXT and the config.
  if (env.DOCKER_HOST) return defaultEndpoint(env);
  if (env.DOCKER_CONTEXT) return pick(env.DOCKER_CONTEXT, 'DOCKER_CONTEXT');
  const current = currentContext(dockerConfigDir(env));
  if (current) return pick(current, `currentContext in ${join(dockerConfigDir(env), 'config.json')}`);
  return defaultEndpoint(env);
}

/** "ssh://root@host:22 (from DOCKER_HOST)": how the engine is named to the user. */
export function describeEndpoint(endpoint: EngineEndpoint): string {
  return `${endpoint.address} (from ${endpoint.source})`;
}
