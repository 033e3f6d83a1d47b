import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { acquireCacheLock, cacheLockName, defaultCacheVolumeName, prepareCacheVolume } from './cache-volume';
import { makeBuildTempDir, removeStaleBuildTempDirs } from '../process/temp-dirs';
import { ExitCode, type GobuildError } from '../errors';
import { explainCache, previousLayerMetadata, previousLayerShas } from './cache-report';
import { RecordingReporter } from '../ui/reporter';
import { FakeDockerClient } from '../../test/helpers/fake-docker';
import type { ContainerState, VolumeRemoval } from '../docker/client';

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
      private readonly removals: VolumeRemoval[] = ['removed'],
      private readonly holder: ContainerState | null = null,
    ) {
      super();
    }
    override async volumeExists(): Promise<boolean> {
      return this.exists;
    }
    override async removeVolumeIfUnused(name: string): Promise<VolumeRemoval> {
      this.calls.push(`removeVolume ${name}`);
      return this.removals.shift() ?? 'removed';
    }
    override async inspectContainer(): Promise<ContainerState | null> {
      return this.holder;
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

  it('refuses to clear a volume a live build holds, with exit 5', async () => {
    const docker = new VolumeFake(true, ['in-use'], { id: 'abcdef0123456789', status: 'running' });
    const err = (await prepareCacheVolume(docker, { tag: 'app', cacheVolume: 'mine', clearCache: true }, new RecordingReporter()).catch((e: unknown) => e)) as GobuildError;
    expect(err.code).toBe(ExitCode.CacheBusy);
    expect(err.message).toBe('cannot clear cache volume mine: container abcdef012345 is using it');
    expect(err.hint).toMatch(/--cache-volume/);
    expect(docker.calls).not.toContain('createVolume mine');
  });

  it('clears a volume whose holder is dead after removing the holder', async () => {
    const reporter = new RecordingReporter();
    const docker = new VolumeFake(true, ['in-use', 'removed'], { id: 'deadbeef01234567', status: 'exited' });
    expect((await prepareCacheVolume(docker, { tag: 'app', cacheVolume: 'mine', clearCache: true }, reporter)).status).toBe('cleared');
    expect(docker.removed).toEqual(['deadbeef01234567']);
    expect(reporter.lines).toContain('Removed container deadbeef0123 of a build that ended without cleaning up');
  });
});

describe('acquireCacheLock', () => {
  /** An engine where the lock name is held by the given holders, one per look, then free. */
  class LockEngine extends FakeDockerClient {
    readonly looks: string[] = [];
    constructor(private readonly holders: Array<ContainerState | null>) {
      super();
    }
    taken(): boolean {
      return this.holders.length > 0;
    }
    override async inspectContainer(name: string): Promise<ContainerState | null> {
      this.looks.push(name);
      return this.holders.shift() ?? null;
    }
  }
  const create = (engine: LockEngine) => async (name: string) => (engine.taken() ? null : `mine:${name}`);
  const running = (id: string): ContainerState => ({ id, status: 'running' });
  let clock = 0;
  const opts = { timeoutMs: 10_000, pollMs: 500, createdGraceMs: 2000, now: () => clock, sleep: async (ms: number) => void (clock += ms) };
  beforeEach(() => (clock = 0));

  it('takes a free lock at once, under a name derived from the volume', async () => {
    const engine = new LockEngine([]);
    expect(await acquireCacheLock(engine, 'vol', create(engine), new RecordingReporter(), opts)).toBe(`mine:${cacheLockName('vol')}`);
    expect(cacheLockName('vol')).toBe('gobuild-cnb-lock-vol');
    expect(engine.looks).toEqual([]);
  });

  it('waits while a live build holds it, saying so once, then takes it', async () => {
    const reporter = new RecordingReporter();
    const engine = new LockEngine([running('aaaaaaaaaaaaaaaa'), running('aaaaaaaaaaaaaaaa'), running('aaaaaaaaaaaaaaaa')]);
    expect(await acquireCacheLock(engine, 'vol', create(engine), reporter, opts)).toBe('mine:gobuild-cnb-lock-vol');
    expect(reporter.lines.filter((l) => l.startsWith('Waiting'))).toEqual(['Waiting for build aaaaaaaaaaaa, which is using cache volume vol']);
    expect(clock).toBe(1500);
  });

  it('removes a holder that exited (its CLI is gone) in one line and takes the lock without waiting', async () => {
    const reporter = new RecordingReporter();
    const engine = new LockEngine([{ id: 'bbbbbbbbbbbbbbbb', status: 'exited' }]);
    await acquireCacheLock(engine, 'vol', create(engine), reporter, opts);
    expect(engine.removed).toEqual(['bbbbbbbbbbbbbbbb']);
    expect(reporter.lines).toEqual(['Removed container bbbbbbbbbbbb of a build that ended without cleaning up']);
    expect(clock).toBe(0);
  });

  it('waits for a holder that was created but not started, and reaps it after the grace', async () => {
    const created: ContainerState = { id: 'cccccccccccccccc', status: 'created' };
    const engine = new LockEngine([created, created, created, created, created]);
    await acquireCacheLock(engine, 'vol', create(engine), new RecordingReporter(), opts);
    expect(engine.removed).toEqual(['cccccccccccccccc']);
    expect(clock).toBe(2000);
  });

  it('gives up after the timeout with exit 5 and a hint', async () => {
    const engine = new LockEngine(Array.from({ length: 100 }, () => running('dddddddddddddddd')));
    const err = (await acquireCacheLock(engine, 'vol', create(engine), new RecordingReporter(), { ...opts, timeoutMs: 3000 }).catch((e: unknown) => e)) as GobuildError;
    expect(err.code).toBe(ExitCode.CacheBusy);
    expect(err.message).toBe('gave up waiting for cache volume vol: build dddddddddddd still uses it');
    expect(err.hint).toMatch(/docker rm -f dddddddddddd/);
  });

  it('stops waiting when told to (Ctrl-C)', async () => {
    const engine = new LockEngine(Array.from({ length: 100 }, () => running('eeeeeeeeeeeeeeee')));
    let looks = 0;
    const checkStop = (): void => {
      if (++looks > 2) throw new Error('interrupted');
    };
    await expect(acquireCacheLock(engine, 'vol', create(engine), new RecordingReporter(), { ...opts, checkStop })).rejects.toThrow('interrupted');
  });
});

describe('build temp dirs', () => {
  it('removes the temp dirs of builds whose process is gone, and nothing else', () => {
    const root = mkdtempSync(join(tmpdir(), 'gobuild-cnb-unit-'));
    try {
      for (const name of ['gobuild-cnb-111-abcDEF', 'gobuild-cnb-222-abcDEF', 'gobuild-cnb-hostile-tmp-abcDEF', 'other']) mkdirSync(join(root, name));
      const mine = makeBuildTempDir(root);
      expect(removeStaleBuildTempDirs(root, (pid) => pid === 222)).toBe(1);
      expect(readdirSync(root).sort()).toEqual(['gobuild-cnb-222-abcDEF', 'gobuild-cnb-hostile-tmp-abcDEF', basename(mine), 'other'].sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
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
