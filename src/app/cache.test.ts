import { defaultCacheVolumeName, prepareCacheVolume, waitForCacheVolume } from './cache-volume';
import { explainCache, previousLayerMetadata, previousLayerShas } from './cache-report';
import { RecordingReporter } from '../ui/reporter';
import { FakeDockerClient } from '../../test/helpers/fake-docker';
import type { ContainerSummary } from '../docker/client';

describe('cache volume names', () => {
  it('is deterministic, shared by my-app and my-app:latest, different per image', () => {
    expect(defaultCacheVolumeName('my-app')).toBe(defaultCacheVolumeName('my-app:latest'));
    expect(defaultCacheVolumeName('my-app')).not.toBe(defaultCacheVolumeName('other'));
    expect(defaultCacheVolumeName('127.0.0.1:5000/team/app:v1')).toMatch(/^gobuild-cnb-cache-127.0.0.1_5000_team_app_v1-[0-9a-f]{12}$/);
  });
});

describe('prepareCacheVolume', () => {
  class VolumeFake extends FakeDockerClient {
    constructor(
      private readonly exists: boolean,
      private readonly users: ContainerSummary[] = [],
    ) {
      super();
    }
    override async volumeExists(): Promise<boolean> {
      return this.exists;
    }
    override async listContainers(): Promise<ContainerSummary[]> {
      return this.users;
    }
  }

  it('creates a labelled volume the first time', async () => {
    const docker = new VolumeFake(false);
    expect(await prepareCacheVolume(docker, { tag: 'app', clearCache: false }, new RecordingReporter())).toEqual({
      name: defaultCacheVolumeName('app'),
      status: 'new',
    });
    expect(docker.calls).toContain(`createVolume ${defaultCacheVolumeName('app')}`);
  });

  it('keeps an existing volume, and removes it for --clear-cache', async () => {
    expect((await prepareCacheVolume(new VolumeFake(true), { tag: 'app', clearCache: false }, new RecordingReporter())).status).toBe('existing');
    const docker = new VolumeFake(true);
    expect((await prepareCacheVolume(docker, { tag: 'app', cacheVolume: 'mine', clearCache: true }, new RecordingReporter())).status).toBe('cleared');
    expect(docker.calls).toEqual(expect.arrayContaining(['removeVolume mine', 'createVolume mine']));
  });

  it('refuses to clear a volume another build is using', async () => {
    const docker = new VolumeFake(true, [{ id: 'abc', labels: {}, state: 'running', created: 1 }]);
    await expect(prepareCacheVolume(docker, { tag: 'app', clearCache: true }, new RecordingReporter())).rejects.toThrow(/is using it/);
  });
});

describe('waitForCacheVolume', () => {
  const container = (id: string, created: number): ContainerSummary => ({ id, labels: {}, state: 'running', created });
  class Sequence extends FakeDockerClient {
    constructor(private readonly answers: ContainerSummary[][]) {
      super();
    }
    override async listContainers(): Promise<ContainerSummary[]> {
      return this.answers.length > 1 ? (this.answers.shift() as ContainerSummary[]) : this.answers[0];
    }
  }
  const opts = { timeoutMs: 10_000, pollMs: 1, sleep: async () => undefined };

  it('goes at once when it is the only or the first build', async () => {
    await waitForCacheVolume(new Sequence([[container('me', 5)]]), 'v', 'me', new RecordingReporter(), opts);
    await waitForCacheVolume(new Sequence([[container('me', 5), container('later', 6)]]), 'v', 'me', new RecordingReporter(), opts);
  });

  it('waits while an earlier build uses the volume, then goes, saying why once', async () => {
    const reporter = new RecordingReporter();
    const docker = new Sequence([[container('first', 4), container('me', 5)], [container('first', 4), container('me', 5)], [container('me', 5)]]);
    await waitForCacheVolume(docker, 'v', 'me', reporter, opts);
    expect(reporter.lines.filter((l) => l.startsWith('Waiting for build first'))).toHaveLength(1);
  });

  it('stops waiting when told to (Ctrl-C)', async () => {
    const docker = new Sequence([[container('first', 4), container('me', 5)]]);
    let looks = 0;
    const stop = () => {
      if (++looks > 2) throw new Error('interrupted');
    };
    await expect(waitForCacheVolume(docker, 'v', 'me', new RecordingReporter(), { ...opts, checkStop: stop })).rejects.toThrow('interrupted');
  });

  it('breaks ties by container id, so exactly one of two simultaneous builds goes', async () => {
    const both = [container('aaa', 5), container('bbb', 5)];
    await waitForCacheVolume(new Sequence([both]), 'v', 'aaa', new RecordingReporter(), opts);
    await expect(waitForCacheVolume(new Sequence([both]), 'v', 'bbb', new RecordingReporter(), { ...opts, timeoutMs: 0 })).rejects.toThrow(/gave up waiting/);
  });
});

describe('explainCache', () => {
  it('says a new or cleared volume is why everything was compiled', () => {
    expect(explainCache({ volume: 'new' }).reasons[0]).toMatch(/new/);
    expect(explainCache({ volume: 'cleared' }).reasons[0]).toMatch(/--clear-cache/);
  });

  it('names a Go version change, a go.sum change and a flags change', () => {
    const report = explainCache({
      volume: 'existing',
      gocacheBefore: { 'go-version': 'go1.25.1', goos: 'linux', goarch: 'amd64' },
      gocacheAfter: { 'go-version': 'go1.26.8', goos: 'linux', goarch: 'amd64' },
      modcacheBefore: { 'sum-file': 'go.sum', 'sum-sha256': 'a' },
      modcacheAfter: { 'sum-file': 'go.sum', 'sum-sha256': 'b' },
      targetsBefore: { 'build-flags': ['-trimpath'], targets: ['.'] },
      targetsAfter: { 'build-flags': ['-trimpath', '-tags=netgo'], targets: ['.'] },
    });
    expect(report.reasons).toEqual([
      'Go version changed go1.25.1 -> go1.26.8: build cache cleared',
      'go.sum changed: modules were fetched',
      'build flags changed (-trimpath -> -trimpath -tags=netgo): packages compiled with them were rebuilt',
    ]);
  });

  it('has no reasons when everything was reused', () => {
    const same = { 'go-version': 'go1.26.8', goos: 'linux', goarch: 'amd64' };
    expect(explainCache({ volume: 'existing', gocacheBefore: same, gocacheAfter: same }).reasons).toEqual([]);
  });

  it('reads layer shas and metadata from the previous image label', () => {
    const previous = {
      config: {
        Labels: {
          'io.buildpacks.lifecycle.metadata': JSON.stringify({
            app: [{ sha: 'sha256:app' }],
            config: { sha: 'sha256:cfg' },
            buildpacks: [{ key: 'gobuild-cnb/go', layers: { targets: { sha: 'sha256:t', data: { targets: ['.'] } } } }],
          }),
        },
      },
    };
    expect(Object.fromEntries(previousLayerShas(previous))).toEqual({ 'gobuild-cnb/go:targets': 'sha256:t', app: 'sha256:app', config: 'sha256:cfg' });
    expect(previousLayerMetadata(previous, 'gobuild-cnb/go', 'targets')).toEqual({ targets: ['.'] });
    expect(previousLayerShas(null).size).toBe(0);
  });
});
