/**
 * Registry credentials the way the docker CLI finds them in `$DOCKER_CONFIG/config.json`
 * (default ~/.docker): `credHelpers[host]`, else `credsStore`, else `auths[host]` (`auth` is
 * base64 user:password; `identitytoken` is an OAuth2 refresh token). Helpers are run as
 * `docker-credential-<name> get` with the server URL on stdin and JSON on stdout.
 * The lookup says which source it used, so an authentication error can name it; secrets are
 * never put into messages.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_HUB } from './reference';

/** The key Docker Hub's credentials are stored under (by `docker login`). */
const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';
const HELPER_TIMEOUT_MS = 30_000;

export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (docker config's `identitytoken`, or a helper's `<token>` user). */
  | { kind: 'identity-token'; username?: string; token: string };

export type CredentialSource =
  | { kind: 'none'; configPath: string; configFound: boolean }
  | { kind: 'config-auths'; configPath: string; key: string }
  | { kind: 'helper'; helper: string; setting: 'credHelpers' | 'credsStore'; configPath: string };

export interface CredentialLookup {
  source: CredentialSource;
  /** Absent when the source had nothing for this registry (or failed: see `problem`). */
  credentials?: Credentials;
  /** Why a configured source gave nothing, e.g. a helper that is not installed. */
  problem?: string;
}

export interface CredentialOptions {
  /** Overrides $DOCKER_CONFIG and ~/.docker. */
  configDir?: string;
  /** Environment for DOCKER_CONFIG and the helpers' PATH (default process.env). */
  env?: NodeJS.ProcessEnv;
  helperTimeoutMs?: number;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

/** The server URL docker keys credentials by: Docker Hub's legacy URL, otherwise host[:port]. */
export function credentialServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : registry;
}

/** `https://host:5000/v1/` -> `host:5000` (docker's ConvertToHostname). */
export function configKeyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0];
}

/** Decodes an `auth` field: base64 of `user:password` (the password may contain colons). */
export function decodeAuthField(auth: string): { username: string; password: string } {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new Error('the auth field is not base64 of user:password');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export async function lookupCredentials(registry: string, options: CredentialOptions = {}): Promise<CredentialLookup> {
  const env = options.env ?? process.env;
  const configPath = join(options.configDir ?? dockerConfigDir(env), 'config.json');
  const config = await readDockerConfig(configPath);
  if (!config) return { source: { kind: 'none', configPath, configFound: false } };
  const serverUrl = credentialServerUrl(registry);

  const helperFor = config.credHelpers?.[serverUrl] ?? config.credHelpers?.[registry];
  const helper = helperFor ?? config.credsStore;
  if (helper) {
    const source: CredentialSource = { kind: 'helper', helper: `docker-credential-${helper}`, setting: helperFor ? 'credHelpers' : 'credsStore', configPath };
    try {
      const credentials = await runCredentialHelper(source.helper, serverUrl, { env, timeoutMs: options.helperTimeoutMs });
      return credentials ? { source, credentials } : { source, problem: `it has no credentials for ${serverUrl}` };
    } catch (error) {
      return { source, problem: (error as Error).message };
    }
  }

  const auths = config.auths ?? {};
  const key = serverUrl in auths ? serverUrl : Object.keys(auths).find((k) => configKeyHost(k) === configKeyHost(serverUrl));
  if (key === undefined) return { source: { kind: 'none', configPath, configFound: true } };
  const source: CredentialSource = { kind: 'config-auths', configPath, key };
  const entry = auths[key];
  if (entry.identitytoken) return { source, credentials: { kind: 'identity-token', token: entry.identitytoken } };
  try {
    if (entry.auth) return { source, credentials: { kind: 'basic', ...decodeAuthField(entry.auth) } };
  } catch (error) {
    return { source, problem: (error as Error).message };
  }
  if (entry.username && entry.password) return { source, credentials: { kind: 'basic', username: entry.username, password: entry.password } };
  return { source, problem: 'the entry has no auth, username/password or identitytoken' };
}

/** Where credentials came from, in words for an error message (never the secret itself). */
export function describeCredentialSource(lookup: CredentialLookup): string {
  const { source } = lookup;
  let text: string;
  switch (source.kind) {
    case 'none':
      text = source.configFound ? `none (no entry for this registry in ${source.configPath})` : `none (${source.configPath} does not exist)`;
      break;
    case 'config-auths':
      text = `config.json auths entry "${source.key}" (${source.configPath})`;
      break;
    case 'helper':
      text = `credential helper ${source.helper} (${source.setting} in ${source.configPath})`;
      break;
  }
  return lookup.problem ? `${text}: ${lookup.problem}` : text;
}

async function readDockerConfig(configPath: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as DockerConfigFile;
  } catch (error) {
    throw new Error(`${configPath} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Runs `<helper> get` (the docker-credential-helpers protocol). Resolves undefined when the helper
 * says it has no credentials; rejects when it cannot run or fails otherwise.
 */
export function runCredentialHelper(
  helper: string,
  serverUrl: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Credentials | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(helper, ['get'], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const timeoutMs = options.timeoutMs ?? HELPER_TIMEOUT_MS;
    // Our own timer (spawn's `timeout` is never cleared when the helper cannot start); it gives up
    // at once, as a grandchild may keep stdout open after the helper is killed.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      child.stdout.destroy();
      child.stderr.destroy();
      reject(new Error(`${helper} get gave no answer within ${timeoutMs / 1000} s and was stopped`));
    }, timeoutMs);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => undefined); // a helper that exits without reading stdin
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(error.code === 'ENOENT' ? `${helper} is not installed (not found on PATH)` : `${helper} could not run: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout).toString('utf8').trim();
      if (signal) return reject(new Error(`${helper} was stopped by ${signal} (timed out?)`));
      if (code !== 0) {
        // The protocol's "not found" answer: the helper has nothing for this server.
        if (/credentials not found/i.test(out)) return resolve(undefined);
        const said = (out || Buffer.concat(stderr).toString('utf8').trim()).split('\n')[0];
        return reject(new Error(`${helper} get exited with ${code}${said ? `: ${said}` : ''}`));
      }
      let answer: { Username?: string; Secret?: string };
      try {
        answer = JSON.parse(out) as typeof answer;
      } catch {
        return reject(new Error(`${helper} get did not print JSON`));
      }
      if (!answer.Secret) return resolve(undefined);
      if (answer.Username === '<token>') return resolve({ kind: 'identity-token', token: answer.Secret });
      resolve({ kind: 'basic', username: answer.Username ?? '', password: answer.Secret });
    });
    child.stdin.end(serverUrl);
  });
}
