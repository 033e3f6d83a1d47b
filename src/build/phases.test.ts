import { buildPhase, detectPhase, buildpackEnv, type PhaseContext } from './phases';
import { describeBuilder, runImageFromMetadata } from './prepare/builder';
import type { ImageSummary } from '../docker/client';

const ctx: PhaseContext = {
  buildpack: { api: '0.10', id: 'gobuild-cnb/go', version: '0.1.0', sbomFormats: [], targets: [] },
  uid: 1000,
  gid: 1001,
  builderEnv: ['PATH=/usr/local/go/bin:/usr/bin', 'GOLANG_VERSION=1.23', 'CNB_USER_ID=1000', 'http_proxy=http://proxy:3128'],
  target: { os: 'linux', arch: 'amd64', distroName: 'debian', distroVersion: '12' },
  stackId: 'io.buildpacks.stacks.bookworm',
};

describe('phase specs', () => {
  it('runs detect as the build user with the spec arguments', () => {
    const spec = detectPhase(ctx);
    expect(spec.user).toBe('1000:1001');
    expect(spec.workingDir).toBe('/workspace');
    expect(spec.cmd.slice(-3)).toEqual(['/cnb/buildpacks/gobuild-cnb_go/0.1.0/bin/detect', '/platform', '/tmp/gobuild-cnb/plan.toml']);
    expect(spec.streamOutput).toBe(false);
  });

  it('runs build with the buildpack layers dir and streams output', () => {
    const spec = buildPhase(ctx);
    expect(spec.cmd.slice(-4)).toEqual([
      '/cnb/buildpacks/gobuild-cnb_go/0.1.0/bin/build',
      '/layers/gobuild-cnb_go',
      '/platform',
      '/tmp/gobuild-cnb/buildpack-plan.toml',
    ]);
    expect(spec.streamOutput).toBe(true);
  });

  it('passes only the lifecycle allow-list of the builder env, plus CNB_* for the API', () => {
    const env = buildpackEnv(ctx, 'build');
    expect(env).toContain('PATH=/usr/local/go/bin:/usr/bin');
    expect(env).toContain('http_proxy=http://proxy:3128');
    expect(env.some((e) => e.startsWith('GOLANG_VERSION='))).toBe(false);
    expect(env.some((e) => e.startsWith('CNB_USER_ID='))).toBe(false);
    expect(env).toEqual(expect.arrayContaining(['CNB_LAYERS_DIR=/layers/gobuild-cnb_go', 'CNB_TARGET_DISTRO_NAME=debian', 'CNB_TARGET_ARCH=amd64']));
    const detectEnv = buildpackEnv({ ...ctx, target: { os: 'linux', arch: 'arm64' } }, 'detect');
    expect(detectEnv.some((e) => e.startsWith('CNB_LAYERS_DIR='))).toBe(false);
    expect(detectEnv.some((e) => e.startsWith('CNB_TARGET_DISTRO_NAME='))).toBe(false);
  });
});

describe('builder description', () => {
  const summary = (env: string[], labels: Record<string, string>): ImageSummary => ({
    id: 'sha256:1',
    repoTags: [],
    repoDigests: [],
    os: 'linux',
    architecture: 'amd64',
    config: { Env: env, Labels: labels },
    diffIds: [],
    size: 0,
  });

  it('reads the user and run image of a CNB builder', () => {
    const info = describeBuilder(
      'b',
      summary(['CNB_USER_ID=1002', 'CNB_GROUP_ID=1003'], {
        'io.buildpacks.builder.metadata': JSON.stringify({ stack: { runImage: { image: 'run:1' } } }),
        'io.buildpacks.stack.id': 's',
      }),
    );
    expect(info).toMatchObject({ uid: 1002, gid: 1003, runImage: 'run:1', isCnbBuilder: true, stackId: 's' });
  });

  it('defaults a plain image to 1000:1000 and no run image', () => {
    expect(describeBuilder('golang:1.23', summary(['PATH=/usr/bin'], {}))).toMatchObject({ uid: 1000, gid: 1000, runImage: undefined, isCnbBuilder: false });
  });

  it('prefers images[] over stack.runImage and survives bad JSON', () => {
    expect(runImageFromMetadata(JSON.stringify({ images: [{ image: 'a' }], stack: { runImage: { image: 'b' } } }))).toBe('a');
    expect(runImageFromMetadata('{not json')).toBeUndefined();
  });
});
