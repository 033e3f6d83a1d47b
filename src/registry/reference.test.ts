import { UsageError } from '../errors';
import {
  familiarName,
  familiarString,
  hostnameOf,
  isInsecureRegistry,
  manifestReference,
  parseReference,
  referenceString,
  registryApiHost,
} from './reference';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseReference', () => {
  it.each([
    ['my-app', 'docker.io', 'library/my-app', 'latest', undefined],
    ['user/app:1.2', 'docker.io', 'user/app', '1.2', undefined],
    ['index.docker.io/library/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['127.0.0.1:5000/foo/bar:tag', '127.0.0.1:5000', 'foo/bar', 'tag', undefined],
    [`localhost:5000/x@${DIGEST}`, 'localhost:5000', 'x', undefined, DIGEST],
    ['localhost/x', 'localhost', 'x', 'latest', undefined],
    ['ghcr.io/org/team/app:v1', 'ghcr.io', 'org/team/app', 'v1', undefined],
    [`gcr.io/p/app:v1@${DIGEST}`, 'gcr.io', 'p/app', 'v1', DIGEST],
    ['[::1]:5000/app', '[::1]:5000', 'app', 'latest', undefined],
    ['foo/bar', 'docker.io', 'foo/bar', 'latest', undefined],
    ['a__b/c.d-e', 'docker.io', 'a__b/c.d-e', 'latest', undefined],
  ])('%s', (input, registry, repository, tag, digest) => {
    expect(parseReference(input)).toEqual({ registry, repository, tag, digest });
  });

  it.each([
    ['', 'empty'],
    ['My-App', 'repository names must be lowercase'],
    ['app:bad tag', 'tag "bad tag"'],
    ['app@sha256:1234', 'is not a sha256 digest'],
    ['127.0.0.1:5000/', 'repository name is empty'],
    ['foo//bar', '"" is not a valid repository path component'],
    ['-foo', '"-foo" is not a valid repository path component'],
    ['ex_ample.com/app', 'is not a valid registry host'],
  ])('rejects %j with a usage error saying why', (input, why) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain(why);
    expect((error as UsageError).hint).toContain('[registry/]repository[:tag]');
  });
});

describe('names', () => {
  it('familiar names drop docker.io and library/, like docker shows them', () => {
    expect(familiarName(parseReference('my-app'))).toBe('my-app');
    expect(familiarString(parseReference('my-app'))).toBe('my-app:latest');
    expect(familiarName(parseReference('docker.io/user/app'))).toBe('user/app');
    expect(familiarName(parseReference('docker.io/library/a/b'))).toBe('library/a/b');
    expect(familiarString(parseReference('127.0.0.1:5000/foo/bar:tag'))).toBe('127.0.0.1:5000/foo/bar:tag');
  });

  it('full references and the manifest reference to push to', () => {
    expect(referenceString(parseReference('my-app'))).toBe('docker.io/library/my-app:latest');
    expect(manifestReference(parseReference('x/y:2'))).toBe('2');
    expect(manifestReference(parseReference(`x/y:2@${DIGEST}`))).toBe(DIGEST);
  });

  it('Docker Hub is spoken to at registry-1.docker.io', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(hostnameOf('[::1]:5000')).toBe('::1');
    expect(hostnameOf('example.com:443')).toBe('example.com');
  });
});

describe('isInsecureRegistry', () => {
  it('allows plain HTTP to loopback hosts, as docker does', () => {
    for (const host of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'LOCALHOST']) {
      expect(isInsecureRegistry(host, [])).toBe(true);
    }
  });

  it('allows it elsewhere only for listed hosts (host:port, or a hostname for every port)', () => {
    expect(isInsecureRegistry('registry.lan:5000', [])).toBe(false);
    expect(isInsecureRegistry('registry.lan:5000', ['registry.lan:5000'])).toBe(true);
    expect(isInsecureRegistry('registry.lan:5000', ['registry.lan'])).toBe(true);
    expect(isInsecureRegistry('registry.lan:5000', ['http://registry.lan:5000/'])).toBe(true);
    expect(isInsecureRegistry('registry.lan:5000', ['registry.lan:5001'])).toBe(false);
    expect(isInsecureRegistry('127.0.0.1.example.com', [])).toBe(false);
  });
});
