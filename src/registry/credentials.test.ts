import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configKeyHost, decodeAuthField, describeCredentialSource, dockerConfigDir, lookupCredentials, runCredentialHelper } from './credentials';

const b64 = (text: string) => Buffer.from(text).toString('base64');

let dir: string;
let binDir: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-creds-'));
  binDir = mkdtempSync(join(dir, 'bin-'));
  env = { PATH: `${binDir}:/usr/bin:/bin` };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function config(content: object): string {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(content));
  return dir;
}

/** A docker-credential-<name> that logs what it was asked into <dir>/asked and answers with `script`. */
function helper(name: string, script: string): void {
  writeFileSync(join(binDir, `docker-credential-${name}`), `#!/bin/sh\nread -r server\necho "$1 $server" >> "${dir}/asked"\n${script}\n`, { mode: 0o755 });
}

describe('lookupCredentials', () => {
  it('decodes auths[host].auth as user:password', async () => {
    const configDir = config({ auths: { '127.0.0.1:5000': { auth: b64('alice:pa:ss') } } });
    const found = await lookupCredentials('127.0.0.1:5000', { configDir, env });
    expect(found.credentials).toEqual({ kind: 'basic', username: 'alice', password: 'pa:ss' });
    expect(describeCredentialSource(found)).toBe(`config.json auths entry "127.0.0.1:5000" (${dir}/config.json)`);
  });

  it('matches keys written as URLs, and Docker Hub under its legacy URL', async () => {
    const configDir = config({
      auths: { 'https://ghcr.io/v2/': { auth: b64('g:1') }, 'https://index.docker.io/v1/': { identitytoken: 'refresh-me' } },
    });
    expect((await lookupCredentials('ghcr.io', { configDir, env })).credentials).toEqual({ kind: 'basic', username: 'g', password: '1' });
    expect((await lookupCredentials('docker.io', { configDir, env })).credentials).toEqual({ kind: 'identity-token', token: 'refresh-me' });
  });

  it('reports none, and whether config.json exists', async () => {
    const missing = await lookupCredentials('ghcr.io', { configDir: dir, env });
    expect(missing.credentials).toBeUndefined();
    expect(describeCredentialSource(missing)).toBe(`none (${dir}/config.json does not exist)`);
    const other = await lookupCredentials('ghcr.io', { configDir: config({ auths: { 'quay.io': { auth: b64('q:q') } } }), env });
    expect(describeCredentialSource(other)).toBe(`none (no entry for this registry in ${dir}/config.json)`);
  });

  it('honours DOCKER_CONFIG', async () => {
    config({ auths: { 'r.example': { username: 'u', password: 'p' } } });
    expect(dockerConfigDir({ DOCKER_CONFIG: dir })).toBe(dir);
    expect((await lookupCredentials('r.example', { env: { ...env, DOCKER_CONFIG: dir } })).credentials).toEqual({ kind: 'basic', username: 'u', password: 'p' });
  });

  it('asks credHelpers[host] with the host on stdin, before auths', async () => {
    helper('fake', `printf '{"ServerURL":"%s","Username":"bob","Secret":"s3"}' "$server"`);
    const configDir = config({ credHelpers: { 'r.example:5000': 'fake' }, auths: { 'r.example:5000': { auth: b64('file:file') } } });
    const found = await lookupCredentials('r.example:5000', { configDir, env });
    expect(found.credentials).toEqual({ kind: 'basic', username: 'bob', password: 's3' });
    expect(describeCredentialSource(found)).toBe(`credential helper docker-credential-fake (credHelpers in ${dir}/config.json)`);
    expect(readFileSync(join(dir, 'asked'), 'utf8')).toBe('get r.example:5000\n');
  });

  it('uses credsStore for other hosts; a <token> user means an identity token', async () => {
    helper('store', `printf '{"Username":"<token>","Secret":"refresh"}'`);
    const found = await lookupCredentials('docker.io', { configDir: config({ credsStore: 'store' }), env });
    expect(found.credentials).toEqual({ kind: 'identity-token', token: 'refresh' });
    expect(readFileSync(join(dir, 'asked'), 'utf8')).toBe('get https://index.docker.io/v1/\n');
  });

  it('a helper without credentials, or not installed, gives none with the reason', async () => {
    helper('empty', 'echo "credentials not found in native keychain"; exit 1');
    const empty = await lookupCredentials('r.example', { configDir: config({ credsStore: 'empty' }), env });
    expect(empty.credentials).toBeUndefined();
    expect(describeCredentialSource(empty)).toBe(`credential helper docker-credential-empty (credsStore in ${dir}/config.json): it has no credentials for r.example`);

    const absent = await lookupCredentials('r.example', { configDir: config({ credsStore: 'absent' }), env });
    expect(absent.problem).toBe('docker-credential-absent is not installed (not found on PATH)');
  });
});

describe('runCredentialHelper', () => {
  it('a failing helper is an error carrying its first line of output, never the secret', async () => {
    helper('broken', 'echo "gpg: decryption failed" >&2; exit 3');
    await expect(runCredentialHelper('docker-credential-broken', 'h', { env })).rejects.toThrow('docker-credential-broken get exited with 3: gpg: decryption failed');
  });

  it('a helper that hangs is stopped after the timeout', async () => {
    helper('slow', 'sleep 5');
    await expect(runCredentialHelper('docker-credential-slow', 'h', { env, timeoutMs: 200 })).rejects.toThrow('docker-credential-slow get gave no answer within 0.2 s and was stopped');
  });
});

it('decodeAuthField and configKeyHost', () => {
  expect(() => decodeAuthField(b64('no-colon'))).toThrow('not base64 of user:password');
  expect(configKeyHost('https://r.example:5000/v1/')).toBe('r.example:5000');
  expect(configKeyHost('r.example')).toBe('r.example');
});
