import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loopbackProxies, pemCertificates, resolveCaBundle, resolveProxies } from './network';
import { testdir, type TestDir } from '../../../test/helpers/testdir';
import { UsageError } from '../../errors';

// Shape only: the bundle logic never parses the DER inside.
const cert = (n: number): string => `-----BEGIN CERTIFICATE-----\nQ0VSVC${n}AAAA\nMIIB${n}==\n-----END CERTIFICATE-----`;

describe('resolveCaBundle', () => {
  let dir: TestDir;
  beforeEach(() => {
    dir = testdir({});
  });
  afterEach(() => dir.cleanup());
  const file = (name: string, text: string): string => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };

  it('takes SSL_CERT_FILE and every file of SSL_CERT_DIR, each certificate once', () => {
    const bundle = file('bundle.pem', `${cert(1)}\n${cert(2)}\n`);
    mkdirSync(join(dir.path, 'certs'));
    file('certs/corp.crt', `${cert(3)}\r\n`.replace(/\n/g, '\r\n'));
    file('certs/dup.pem', cert(1));
    file('certs/readme.txt', 'not a certificate');
    const result = resolveCaBundle({ hostCaCerts: true, caCertFiles: [] }, { SSL_CERT_FILE: bundle, SSL_CERT_DIR: join(dir.path, 'certs') });
    expect(result?.count).toBe(3);
    expect(result?.pem).toBe(`${cert(1)}\n${cert(2)}\n${cert(3)}\n`);
    expect(result?.sources).toEqual([bundle, join(dir.path, 'certs', 'corp.crt')]);
  });

  it('adds --ca-certs files first and keeps only them with host trust off', () => {
    const extra = file('extra.pem', cert(7));
    const host = file('host.pem', cert(1));
    const result = resolveCaBundle({ hostCaCerts: false, caCertFiles: [extra] }, { SSL_CERT_FILE: host });
    expect(result).toEqual({ pem: `${cert(7)}\n`, count: 1, sources: [extra] });
  });

  it('is undefined with host trust off and no --ca-certs', () => {
    expect(resolveCaBundle({ hostCaCerts: false, caCertFiles: [] }, {})).toBeUndefined();
  });

  it('refuses a --ca-certs file that is missing or holds no PEM certificate, naming it', () => {
    const missing = join(dir.path, 'missing.pem');
    expect(() => resolveCaBundle({ hostCaCerts: false, caCertFiles: [missing] }, {})).toThrow(UsageError);
    expect(() => resolveCaBundle({ hostCaCerts: false, caCertFiles: [missing] }, {})).toThrow(/missing\.pem: no such file/);
    const der = file('ca.der', '0\x82\x03\x1d0\x82\x02');
    expect(() => resolveCaBundle({ hostCaCerts: false, caCertFiles: [der] }, {})).toThrow(/ca\.der: no PEM certificate/);
  });

  it('skips an SSL_CERT_DIR that does not exist, as OpenSSL and Go do', () => {
    const bundle = file('b.pem', cert(1));
    expect(resolveCaBundle({ hostCaCerts: true, caCertFiles: [] }, { SSL_CERT_FILE: bundle, SSL_CERT_DIR: '/nonexistent:' })?.count).toBe(1);
  });
});

describe('pemCertificates', () => {
  it('finds blocks between other text and ignores private keys', () => {
    const text = `subject=CN x\n${cert(1)}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${cert(2)}`;
    expect(pemCertificates(text)).toEqual([cert(1), cert(2)]);
  });
});

describe('resolveProxies', () => {
  const config = (proxies: unknown) => ({ path: '/home/u/.docker/config.json', json: { proxies } });

  it('passes the environment in both cases, either case as input', () => {
    const vars = resolveProxies({ https_proxy: 'http://proxy:3128', NO_PROXY: 'internal' });
    expect(vars.map((v) => `${v.name}=${v.value}`)).toEqual([
      'HTTPS_PROXY=http://proxy:3128',
      'https_proxy=http://proxy:3128',
      'NO_PROXY=internal',
      'no_proxy=internal',
    ]);
  });

  it("takes the docker config's entry for this DOCKER_HOST, else default; the environment wins", () => {
    const cfg = config({ default: { httpProxy: 'http://a:1', noProxy: 'x' }, 'tcp://h:2375': { httpProxy: 'http://b:2' } });
    expect(resolveProxies({}, cfg).filter((v) => v.name === v.name.toUpperCase())).toEqual([
      { name: 'HTTP_PROXY', value: 'http://a:1', source: cfg.path },
      { name: 'NO_PROXY', value: 'x', source: cfg.path },
    ]);
    expect(resolveProxies({ DOCKER_HOST: 'tcp://h:2375' }, cfg).find((v) => v.name === 'HTTP_PROXY')?.value).toBe('http://b:2');
    expect(resolveProxies({ HTTP_PROXY: 'http://env:3' }, cfg).find((v) => v.name === 'HTTP_PROXY')).toEqual({ name: 'HTTP_PROXY', value: 'http://env:3', source: 'environment' });
  });

  it('ignores a config without proxies or with values of the wrong type', () => {
    expect(resolveProxies({}, config(undefined))).toEqual([]);
    expect(resolveProxies({}, config({ default: { httpProxy: 3 } }))).toEqual([]);
  });

  it('names proxies on the loopback, which a bridge-network container cannot reach', () => {
    const vars = resolveProxies({ HTTP_PROXY: 'http://user:pw@127.0.0.1:3128', HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'localhost' });
    expect(loopbackProxies(vars).map((v) => v.name)).toEqual(['HTTP_PROXY']);
  });
});
