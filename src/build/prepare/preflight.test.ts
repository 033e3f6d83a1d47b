import { checkImageRef, checkInsecureRegistry, checkNetworkExists, checkNetworkSyntax, checkPlatforms } from './preflight';
import { ExitCode, UsageError } from '../../errors';
import { parsePlatforms } from '../options';

function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no error thrown');
}

describe('checkPlatforms', () => {
  it('accepts what Go can target, with the variants the buildpack maps', () => {
    expect(() => checkPlatforms(parsePlatforms('linux/amd64,linux/arm64,linux/arm/v7,linux/riscv64,linux/amd64/v3'))).not.toThrow();
  });
  it.each([
    ['linux/sparc', /Go cannot target linux\/sparc/, /386, amd64/],
    ['beos/amd64', /Go cannot target the OS "beos"/, /linux\/amd64/],
    ['linux/arm/v9', /"v9" is not a variant of arm/, /v5, v6, v7/],
    ['linux/386/v2', /"v2" is not a variant of 386/, /linux\/386/],
  ])('rejects %s', (spec, message, hint) => {
    const err = usageErrorOf(() => parsePlatforms(spec));
    expect(err.message).toMatch(message);
    expect(err.hint).toMatch(hint);
  });
});

describe('network', () => {
  it('checks the name syntax without the engine', () => {
    expect(() => checkNetworkSyntax('none')).not.toThrow();
    expect(() => checkNetworkSyntax('my_net.1')).not.toThrow();
    expect(() => checkNetworkSyntax('container:abc')).not.toThrow();
    expect(usageErrorOf(() => checkNetworkSyntax('bad net')).message).toMatch(/"bad net" is not a network name/);
    expect(usageErrorOf(() => checkNetworkSyntax('-x')).hint).toMatch(/docker network ls/);
  });
  it('names the networks the engine has when the one asked for is missing', async () => {
    const docker = { listNetworks: async () => ['bridge', 'host', 'none'] };
    await expect(checkNetworkExists(docker, 'bridge')).resolves.toBeUndefined();
    await expect(checkNetworkExists(docker, undefined)).resolves.toBeUndefined();
    await expect(checkNetworkExists(docker, 'nope')).rejects.toMatchObject({
      code: ExitCode.Usage,
      message: '--network nope: the Docker engine has no such network',
      hint: expect.stringContaining('Networks it has: bridge, host, none'),
    });
  });
});

describe('flag value syntax', () => {
  it('takes registry hosts as host[:port]', () => {
    for (const ok of ['127.0.0.1:5000', 'registry.local', '[::1]:5000']) expect(() => checkInsecureRegistry(ok)).not.toThrow();
    for (const bad of ['http://127.0.0.1:5000', 'host/path', 'host:0', '']) {
      expect(usageErrorOf(() => checkInsecureRegistry(bad)).hint).toMatch(/host:port/);
    }
  });
  it('takes image names for --builder and --run-image', () => {
    for (const ok of ['golang:1.23-bookworm', 'gobuild-cnb/test-builder:bookworm', 'localhost:5000/a/b:c', `busybox@sha256:${'a'.repeat(64)}`]) {
      expect(() => checkImageRef('--builder', ok)).not.toThrow();
    }
    for (const bad of ['Golang', 'a b', 'x:', ':tag', 'a//b']) {
      expect(usageErrorOf(() => checkImageRef('--builder', bad)).message).toMatch(/^--builder ".*" is not an image name$/);
    }
  });
});
