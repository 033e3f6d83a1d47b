import { ExitCode } from '../errors';
import { RegistryUnreachableError, unreachableRegistry } from './errors';

function failure(code: string, message = code): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('unreachableRegistry', () => {
  it('connection refused: says host and what to check; exit code of an export failure', () => {
    const error = unreachableRegistry(failure('ECONNREFUSED'), '127.0.0.1:5999', 'HTTPS and plain HTTP');
    expect(error).toBeInstanceOf(RegistryUnreachableError);
    expect(error.code).toBe(ExitCode.ExportFailed);
    expect(error.message).toBe('cannot reach registry 127.0.0.1:5999 over HTTPS and plain HTTP: connection refused');
    expect(error.hint).toContain('registry is running');
  });

  it('a plain-HTTP registry spoken to over HTTPS suggests --insecure-registry', () => {
    const error = unreachableRegistry(failure('EPROTO', 'write EPROTO ...:wrong version number:...'), 'registry.lan:5000', 'HTTPS');
    expect(error.message).toBe('cannot reach registry registry.lan:5000 over HTTPS: the TLS handshake failed');
    expect(error.hint).toContain('--insecure-registry registry.lan:5000');
  });

  it('an untrusted certificate names the CA options', () => {
    const error = unreachableRegistry(failure('DEPTH_ZERO_SELF_SIGNED_CERT'), 'registry.lan', 'HTTPS');
    expect(error.message).toContain('its TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(error.hint).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('a name that does not resolve says so', () => {
    expect(unreachableRegistry(failure('ENOTFOUND'), 'regsitry.example', 'HTTPS').message).toContain('the name does not resolve');
  });
});
