import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkEngineAddress, DEFAULT_ENGINE_ADDRESS, resolveEngineEndpoint } from './endpoint';
import { dockerodeOptions } from './dockerode-client';
import { parseSshAddress, sshArgs } from './ssh-dial';
import { ExitCode, UsageError } from '../errors';

function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no error thrown');
}

describe('checkEngineAddress', () => {
  it.each(['unix:///var/run/docker.sock', 'tcp://127.0.0.1:2375', 'tcp://docker:2376', 'ssh://me@host', 'ssh://me@host:2222', 'npipe:////./pipe/docker_engine', 'tcp://[::1]:2375'])(
    'accepts %s',
    (value) => expect(() => checkEngineAddress(value)).not.toThrow(),
  );
  it.each([
    ['htp:/x', /is not an engine address/],
    ['htp://x', /scheme "htp"/],
    ['unix://relative.sock', /absolute socket path/],
    ['tcp://', /does not name a host/],
    ['tcp://host:99999', /outside 1-65535/],
    ['/var/run/docker.sock', /is not an engine address/],
  ])('rejects %s with a usage error and a hint', (value, message) => {
    const err = usageErrorOf(() => checkEngineAddress(value));
    expect(err.code).toBe(ExitCode.Usage);
    expect(err.message).toMatch(message);
    expect(err.hint).toMatch(/unix:\/\/\/var\/run\/docker.sock/);
  });
});

describe('resolveEngineEndpoint: the docker CLI order', () => {
  let config: string;
  const context = (name: string, host: string, tls?: Record<string, string>, skipVerify = false): void => {
    const id = createHash('sha256').update(name).digest('hex');
    mkdirSync(join(config, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(join(config, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: skipVerify } } }));
    if (tls) {
      const dir = join(config, 'contexts', 'tls', id, 'docker');
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(tls)) writeFileSync(join(dir, file), text);
    }
  };
  beforeEach(() => {
    config = mkdtempSync(join(tmpdir(), 'gobuild-cnb-unit-endpoint-'));
    context('remote', 'tcp://10.0.0.9:2376', { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' });
    context('sshbox', 'ssh://me@build-host:2222');
    context('insecure', 'tcp://10.0.0.8:2376', undefined, true);
  });
  afterEach(() => rmSync(config, { recursive: true, force: true }));

  it('is the local socket when nothing is said', () => {
    expect(resolveEngineEndpoint({}, { DOCKER_CONFIG: config })).toEqual({ address: DEFAULT_ENGINE_ADDRESS, source: 'the default socket' });
  });
  it('takes the current context of the config, with its TLS files', () => {
    writeFileSync(join(config, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    const endpoint = resolveEngineEndpoint({}, { DOCKER_CONFIG: config });
    expect(endpoint).toMatchObject({ address: 'tcp://10.0.0.9:2376', context: 'remote', tls: { verify: true } });
    expect(endpoint.source).toMatch(/currentContext in .*config.json/);
    expect(endpoint.tls?.ca?.toString()).toBe('CA');
    expect(dockerodeOptions(endpoint)).toMatchObject({ protocol: 'https', host: '10.0.0.9', port: '2376' });
  });
  it('lets DOCKER_CONTEXT win over the config, DOCKER_HOST over both, and --context over all', () => {
    writeFileSync(join(config, 'config.json'), JSON.stringify({ currentContext: 'remote' }));
    expect(resolveEngineEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'sshbox' })).toMatchObject({ address: 'ssh://me@build-host:2222', source: 'docker context sshbox (DOCKER_CONTEXT)' });
    expect(resolveEngineEndpoint({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'sshbox', DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual({ address: 'tcp://127.0.0.1:2375', source: 'DOCKER_HOST' });
    expect(resolveEngineEndpoint({ context: 'sshbox' }, { DOCKER_CONFIG: config, DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toMatchObject({ address: 'ssh://me@build-host:2222', source: 'docker context sshbox (--context)' });
  });
  it('reads `default` as DOCKER_HOST or the socket', () => {
    expect(resolveEngineEndpoint({ context: 'default' }, { DOCKER_CONFIG: config })).toMatchObject({ address: DEFAULT_ENGINE_ADDRESS, context: 'default' });
  });
  it('marks a context with SkipTLSVerify as not verified', () => {
    const endpoint = resolveEngineEndpoint({ context: 'insecure' }, { DOCKER_CONFIG: config });
    expect(endpoint.tls).toMatchObject({ verify: false });
    expect(dockerodeOptions(endpoint)).toMatchObject({ protocol: 'https', rejectUnauthorized: false });
  });
  it('reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH as the docker CLI does', () => {
    const certs = join(config, 'certs');
    mkdirSync(certs);
    writeFileSync(join(certs, 'ca.pem'), 'CA2');
    const endpoint = resolveEngineEndpoint({}, { DOCKER_CONFIG: config, DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    expect(endpoint.tls?.verify).toBe(true);
    expect(endpoint.tls?.ca?.toString()).toBe('CA2');
  });
  it('names an unknown context and says how to list them (exit 2)', () => {
    const err = usageErrorOf(() => resolveEngineEndpoint({ context: 'nope' }, { DOCKER_CONFIG: config }));
    expect(err.message).toMatch(/docker context "nope" \(from --context\) does not exist/);
    expect(err.hint).toMatch(/docker context ls/);
  });
  it('refuses a context whose host is not an engine address', () => {
    context('broken', 'ftp://x');
    expect(usageErrorOf(() => resolveEngineEndpoint({ context: 'broken' }, { DOCKER_CONFIG: config })).message).toMatch(/context "broken" host.*scheme "ftp"/);
  });
  it('refuses a malformed DOCKER_HOST before any engine is asked', () => {
    expect(usageErrorOf(() => resolveEngineEndpoint({}, { DOCKER_CONFIG: config, DOCKER_HOST: 'docker.sock' })).message).toMatch(/DOCKER_HOST="docker.sock"/);
  });
});

describe('ssh engines', () => {
  it('runs docker system dial-stdio through ssh, never reading the host as an option, never prompting', () => {
    expect(sshArgs(parseSshAddress('ssh://me@build-host:2222'))).toEqual(['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-T', '-l', 'me', '-p', '2222', '--', 'build-host', 'docker', 'system', 'dial-stdio']);
    expect(sshArgs(parseSshAddress('ssh://-oProxyCommand=x'))).toContain('--');
  });
});
