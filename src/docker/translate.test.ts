import { translateDockerError } from './dockerode-client';
import { DockerUnavailableError, ExitCode, UsageError } from '../errors';

const sysError = (code: string, syscall: string, extra: Record<string, string> = {}): Error =>
  Object.assign(new Error(`${syscall} ${code}`), { code, syscall, ...extra });

describe('translateDockerError', () => {
  it('maps a refused or missing socket to "no Docker engine"', () => {
    const err = translateDockerError(sysError('ECONNREFUSED', 'connect', { address: '/var/run/docker.sock' }), 'info');
    expect(err).toBeInstanceOf(DockerUnavailableError);
    expect(err.message).toMatch(/no Docker engine answers/);
  });

  it('says to join the docker group when the socket refuses us (EACCES on connect)', () => {
    const err = translateDockerError(sysError('EACCES', 'connect', { address: '/var/run/docker.sock' }), 'info');
    expect(err.code).toBe(ExitCode.DockerUnavailable);
    expect(err.message).toBe('permission denied on the Docker socket /var/run/docker.sock');
    expect(err.hint).toMatch(/usermod -aG docker/);
  });

  it('never calls an unreadable or vanished file "no Docker engine"', () => {
    for (const code of ['EACCES', 'ENOENT']) {
      const err = translateDockerError(sysError(code, 'open', { path: '/src/app/secret.go' }), 'copy files into the container');
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toContain('/src/app/secret.go');
      expect(err.message).not.toMatch(/Docker engine/);
    }
  });

  it("keeps the daemon's words, with a hint that is not 'a bug'", () => {
    const err = translateDockerError(Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500, json: { message: 'no space left on device' } }), 'load image');
    expect(err.message).toBe('Docker: load image failed: no space left on device');
    expect(err.hint).toMatch(/docker info/);
    expect(err.hint).not.toMatch(/bug/);
  });
});
