import { resultLine } from './commands/build';

describe('the result line on stdout', () => {
  it('is "<image> <id>" for the daemon and OCI outputs', () => {
    expect(resultLine({ image: 'my-app', id: 'sha256:abc' }, 'docker')).toBe('my-app sha256:abc');
    expect(resultLine({ image: 'my-app', id: 'sha256:abc', digest: 'sha256:def' }, 'oci')).toBe('my-app sha256:abc');
  });
  it('is a pullable "<repository>@<digest>" for a pushed image', () => {
    expect(resultLine({ image: '127.0.0.1:5000/team/app:v1', id: 'sha256:abc', digest: 'sha256:def' }, 'registry')).toBe('127.0.0.1:5000/team/app@sha256:def');
    expect(resultLine({ image: '127.0.0.1:5000/app', id: 'sha256:abc', digest: 'sha256:def' }, 'registry')).toBe('127.0.0.1:5000/app@sha256:def');
  });
});
