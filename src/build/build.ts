/**
 * One build, start to end: prepare -> detect -> build -> export (DESIGN.md "One build, as data
 * flowing through it"). Cleanup of the container and temp files runs in `finally`, on success,
 * failure and Ctrl-C alike. Reports only through the Reporter; returns the result.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DockerClient } from '../docker/client';
import type { Reporter } from '../ui/reporter';
import type { BuildOptions } from './options';
import { describeBuilder, type BuilderInfo } from './prepare/builder';
import { ensureImage } from '../engine/images';
import { BuildContainer } from './build-container';
import { Interrupts, type SignalSource } from '../process/interrupts';
import { buildPhase, detectPhase, type PhaseContext, type TargetData } from './phases';
import { buildInputEntries } from './prepare/inputs';
import { packEntries } from './prepare/input-tar';
import { parseBuildpackToml, type BuildpackDescriptor } from '../cnb/files';
import { DetectExit, Labels, buildpackLayersDir } from '../cnb/spec';
import { DetectError, DetectFailedError, UsageError, asGobuildError, type BuildPhaseName } from '../errors';
import { buildFailedError } from './classify-build-failure';
import { checkNetworkExists } from './prepare/preflight';
import { checkRunImagePlatform, defaultPlatform, resolveRunBase, staticBaseCaPath, STATIC_BASE_CA_BUNDLE, type RunBase } from './prepare/run-base';
import { acquireCacheLock, CACHE_LABEL, prepareCacheVolume } from '../cache/cache-volume';
import { makeBuildTempDir, removeStaleBuildTempDirs } from '../process/temp-dirs';
import { explainCache, previousLayerMetadata, type CacheReport } from '../cache/cache-report';
import { resetForNextPlatform, restoreCache, type CacheMetadata } from './prepare/restore';
import { platformString } from '../image/config';
import type { Platform } from '../image/types';
import type { TomlTable } from '../cnb/toml';
import { collectBuild } from './export/collect';
import { assembleImage, type AssembledImage, type ExportResult } from './export/export';
import { loopbackProxies } from './prepare/network';
import { BINDINGS_DIR, bindingSecrets } from './prepare/bindings';
import { createSink, preflightOutput } from './sinks';
import { Redactor } from '../ui/redact';

export interface BuildDeps {
  docker: DockerClient;
  reporter: Reporter;
  signals?: SignalSource;
  /** Where temp dirs go (default: the OS temp dir). */
  tmpRoot?: string;
}

export interface BuildResult extends ExportResult {
  builder: string;
  runImage: string;
  platforms: string[];
  cache: CacheReport & { volume: string };
  timings: Record<string, number>;
  containerKept?: string;
}

/** How long a build waits for another build of the same image to release the cache volume. */
const CACHE_WAIT_MS = 15 * 60 * 1000;
/** How often it looks whether the other build is done (a look is one cheap engine call). */
const CACHE_POLL_MS = 500;
/**
 * A lock holder never started after this long was left by a build killed between creating and
 * starting its container (a live build starts it within a second).
 */
const LOCK_CREATED_GRACE_MS = 10_000;

function readBuildpack(dir: string): BuildpackDescriptor {
  const file = join(dir, 'buildpack.toml');
  try {
    return parseBuildpackToml(readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw new UsageError(`the buildpack at ${dir} is not valid: ${(err as Error).message}`, { cause: err });
  }
}

/** Lifecycle rule: target distro from the run image's labels, else the build container's os-release. */
async function targetData(run: RunBase, builder: BuilderInfo, container: BuildContainer): Promise<TargetData> {
  if (run.kind !== 'image') return { os: builder.os, arch: builder.architecture };
  const labels = run.summary.config.Labels ?? {};
  const target: TargetData = { os: run.summary.os, arch: run.summary.architecture, variant: run.summary.variant };
  if (labels[Labels.distroName]) {
    return { ...target, distroName: labels[Labels.distroName], distroVersion: labels[Labels.distroVersion] };
  }
  const osRelease = (await container.readFile('/etc/os-release'))?.toString('utf8') ?? '';
  const field = (name: string): string | undefined => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(osRelease)?.[1];
  return { ...target, distroName: field('ID'), distroVersion: field('VERSION_ID') };
}

/** The static base carries the builder's CA certificates, so TLS clients in the app work. */
async function copyCaBundle(container: BuildContainer, workDir: string, reporter: Reporter): Promise<void> {
  const bundle = await container.readFile(STATIC_BASE_CA_BUNDLE);
  if (!bundle) {
    reporter.warn(`the builder has no ${STATIC_BASE_CA_BUNDLE}: the static run image will have no CA certificates`);
    return;
  }
  mkdirSync(join(workDir, 'static-base'), { recursive: true });
  writeFileSync(staticBaseCaPath(workDir), bundle);
}

/** What the build trusts and goes through (docs/networks.md); a proxy it cannot reach is said at once. */
function describeNetwork(options: Readonly<BuildOptions>, reporter: Reporter): void {
  if (options.caBundle) reporter.detail(`build trusts ${options.caBundle.count} extra CA certificates from ${options.caBundle.sources.join(', ')}`);
  const proxies = options.proxies.filter((p) => p.name === p.name.toUpperCase());
  if (proxies.length > 0) reporter.detail(`proxies: ${proxies.map((p) => `${p.name} (from ${p.source})`).join(', ')}`);
  for (const b of options.bindings) reporter.detail(`binding ${b.name} (type ${b.type}, from ${b.source}): ${b.files.map((f) => f.name).join(', ')}`);
  const bindingRoot = options.env.find((v) => v.name === 'SERVICE_BINDING_ROOT')?.value;
  if (options.bindings.length > 0 && bindingRoot !== undefined && bindingRoot.replace(/\/+$/, '') !== BINDINGS_DIR) {
    reporter.warn(`SERVICE_BINDING_ROOT=${bindingRoot} is set, so the buildpack looks for bindings there, not in ${BINDINGS_DIR} where --volume/--netrc put them: unset it`);
  }
  if (options.network !== 'host') {
    for (const p of loopbackProxies(options.proxies)) {
      reporter.warn(`${p.name} (from ${p.source}) is on this host's loopback, which the build container cannot reach: use --network host, or the proxy's address on the Docker bridge`);
    }
  }
}

export async function runBuild(options: Readonly<BuildOptions>, deps: BuildDeps): Promise<BuildResult> {
  const { docker, reporter } = deps;
  const timings: Record<string, number> = {};
  const interrupts = new Interrupts(deps.signals);
  const tmpRoot = deps.tmpRoot ?? tmpdir();
  const staleDirs = removeStaleBuildTempDirs(tmpRoot);
  if (staleDirs > 0) reporter.detail(`removed ${staleDirs} temp dir(s) of builds that ended without cleaning up`);
  const workDir = makeBuildTempDir(tmpRoot);
  interrupts.onAbort((signal) => {
    reporter.warn(`second ${signal}: stopping now; the build container ends by itself`);
    rmSync(workDir, { recursive: true, force: true });
  });
  let container: BuildContainer | undefined;
  // A cache volume this build made is removed again when the build fails before bin/build
  // ran: it is empty, and nothing should be left of a failed build.
  let newVolume: string | undefined;
  let cacheReady: Promise<unknown> | undefined;
  let current = 'prepare';
  let phaseStarted = Date.now();
  let phaseOpen = false;
  const begin = (phase: string, title: string): void => {
    interrupts.check();
    current = phase;
    phaseStarted = Date.now();
    phaseOpen = true;
    reporter.phaseStart(phase, title);
  };
  // With several platforms, build and export run once per platform: their times add up.
  const end = (): void => {
    const ms = Date.now() - phaseStarted;
    timings[current] = (timings[current] ?? 0) + ms;
    phaseOpen = false;
    reporter.phaseEnd(current, true, ms);
  };

  try {
    begin('prepare', `Preparing builder ${options.builder}`);
    const buildpack = readBuildpack(options.buildpackDir);
    // An output that cannot be written is said before minutes of building, not after.
    await preflightOutput(options);
    // Independent look-ups go together: each is a round trip to the engine.
    const [engine, builderImage] = await interrupts.race(
      Promise.all([docker.info(), ensureImage(docker, options.builder, options.pullPolicy, reporter, 'builder'), checkNetworkExists(docker, options.network)]),
    );
    reporter.detail(`Docker engine ${engine.serverVersion} (${engine.storageDriver}${engine.containerdSnapshotter ? ', containerd image store' : ''})`);
    reporter.detail(`builder ${options.builder} (from ${options.builderSource})`);
    describeNetwork(options, reporter);
    const builder = describeBuilder(options.builder, builderImage);
    interrupts.check();
    const preparing = prepareCacheVolume(docker, options, reporter).then((prepared) => {
      if (prepared.status !== 'existing') newVolume = prepared.name;
      return prepared;
    });
    cacheReady = preparing;
    // A pull of the run image can take minutes: a signal must not wait for it.
    const [run, cache] = await Promise.all([interrupts.race(resolveRunBase(docker, options, builder, reporter)), preparing]);
    reporter.detail(`run image: ${run.name}; build user ${builder.uid}:${builder.gid}`);
    const layersDir = buildpackLayersDir(buildpack.id);
    const containerOptions = {
      image: builder.image,
      uid: builder.uid,
      gid: builder.gid,
      buildId: randomBytes(6).toString('hex'),
      networkMode: options.network,
      volumes: [{ name: cache.name, target: layersDir }],
    };
    let attempts = 0;
    const containerId = await acquireCacheLock(
      docker,
      cache.name,
      async (lockName) => {
        // A build that failed meanwhile may have removed the volume it made: mount a labelled one.
        if (attempts++ > 0) await docker.createVolume(cache.name, { [CACHE_LABEL]: options.tag });
        return docker.createNamedContainer(lockName, BuildContainer.spec(containerOptions));
      },
      reporter,
      { timeoutMs: CACHE_WAIT_MS, pollMs: CACHE_POLL_MS, createdGraceMs: LOCK_CREATED_GRACE_MS, checkStop: () => interrupts.check() },
    );
    // Removed on any end from here on, also when attaching fails.
    const removeLockHolder = (): Promise<void> => (container ? container.remove() : docker.removeContainer(containerId));
    interrupts.onInterrupt(removeLockHolder);
    try {
      container = await BuildContainer.attach(docker, containerId, containerOptions);
    } catch (err) {
      await removeLockHolder().catch(() => undefined);
      throw err;
    }
    interrupts.check();
    // The engine copies the inputs in while the container starts: both take a few hundred ms.
    await interrupts.race(Promise.all([container.putArchive(packEntries(buildInputEntries(options, buildpack, builder))), container.start()]));
    const cacheBefore = await interrupts.race(restoreCache(container, layersDir, builder.image));
    const platforms = options.platforms.length > 0 ? options.platforms : [defaultPlatform(run, builder)];
    const baseTarget = await targetData(run, builder, container);
    const contextFor = (platform: Platform): PhaseContext => ({
      buildpack,
      uid: builder.uid,
      gid: builder.gid,
      builderEnv: builder.env,
      target: { ...baseTarget, os: platform.os, arch: platform.architecture, variant: platform.variant },
      stackId: builder.stackId,
    });
    for (const platform of platforms) checkRunImagePlatform(run, platform);
    end();

    begin('detect', `Detecting with ${buildpack.id}@${buildpack.version}`);
    const detected = await interrupts.race(container.run(detectPhase(contextFor(platforms[0])), reporter));
    interrupts.check();
    if (detected.exitCode === DetectExit.fail) {
      throw new DetectFailedError(`no Go app detected in ${options.appDir}`, {
        details: detected.output.trim(),
        hint: 'The app directory needs go.mod, go.work, *.go files at its root, or main packages under cmd/ (or set BP_GO_WORKDIR).',
      });
    }
    if (detected.exitCode !== DetectExit.pass) {
      throw new DetectError(`the buildpack's detect failed with exit code ${detected.exitCode}`, {
        details: detected.output.trim(),
        hint: 'Read the buildpack output above; a setting such as BP_GO_TARGETS or BP_GO_BUILD_FLAGS may be wrong.',
      });
    }
    reporter.detail(detected.output.trim());
    end();

    const previous = await docker.inspectImage(options.tag);
    const images: AssembledImage[] = [];
    let cacheAfter: CacheMetadata = {};
    let targetsAfter: TomlTable | undefined;
    for (const [index, platform] of platforms.entries()) {
      const label = platforms.length > 1 ? ` for ${platformString(platform)}` : '';
      begin('build', `Building with ${buildpack.id}@${buildpack.version}${label}`);
      if (index > 0) {
        // bin/build removed the sources and wrote this platform's layers: start the next afresh.
        await resetForNextPlatform(container, layersDir, builder, options);
      }
      newVolume = undefined; // bin/build fills the cache from here on: it stays
      const built = await interrupts.race(container.run(buildPhase(contextFor(platform)), reporter));
      interrupts.check();
      if (built.exitCode !== 0) throw buildFailedError(built.output, built.exitCode, label);
      end();

      begin('export', `Exporting ${options.tag}${label}`);
      const collected = await interrupts.race(collectBuild(container, buildpack, builder, join(workDir, `collected-${index}`), reporter, built.stdout));
      if (run.kind === 'static' && index === 0) await copyCaBundle(container, workDir, reporter);
      // Everything is out of the container after the last platform: it goes while the image is written.
      if (index === platforms.length - 1 && !options.keepContainer) void container.remove();
      cacheAfter = { gocache: collected.layerMetadata.gocache, modcache: collected.layerMetadata.modcache };
      targetsAfter = collected.layerMetadata.targets;
      interrupts.check();
      images.push(await interrupts.race(assembleImage({ options, docker, reporter, collected, run, builder, buildpack, workDir, platform, previous })));
      interrupts.check();
      if (index < platforms.length - 1) end();
    }
    const written = await interrupts.race(createSink({ options, docker, reporter, engine, workDir, previousDiffIds: previous?.diffIds }).write(images));
    end();

    const secrets = Redactor.forBuildEnv(options.env, bindingSecrets(options.bindings));
    const cacheReport = explainCache({
      volume: cache.status,
      gocacheBefore: cacheBefore.gocache,
      gocacheAfter: cacheAfter.gocache,
      modcacheBefore: cacheBefore.modcache,
      modcacheAfter: cacheAfter.modcache,
      targetsBefore: previousLayerMetadata(previous, buildpack.id, 'targets'),
      targetsAfter,
      redact: (text) => secrets.redact(text),
    });
    reporter.detail(cacheReport.reasons.length > 0 ? `Cache: ${cacheReport.reasons.join('; ')}` : `Cache: everything reused (volume ${cache.name})`);
    const [first] = images;
    return {
      ...written,
      processes: first.processes,
      defaultProcess: first.defaultProcess,
      layers: first.layers.map((l) => ({ name: l.name, diffId: l.diffId, size: l.size ?? 0, reused: l.reused })),
      platforms: images.map((i) => platformString(i.platform)),
      cache: { volume: cache.name, ...cacheReport },
      builder: options.builder,
      runImage: run.name,
      timings,
      containerKept: options.keepContainer ? containerId : undefined,
    };
  } catch (err) {
    const interrupted = interrupts.signal;
    const error = asGobuildError(err);
    if (error.phase === undefined) error.phase = current as BuildPhaseName;
    reporter.flush();
    if (phaseOpen) reporter.phaseEnd(current, false, Date.now() - phaseStarted);
    if (interrupted) interrupts.check();
    throw error;
  } finally {
    await cleanUp();
    interrupts.dispose();
    rmSync(workDir, { recursive: true, force: true });
    interrupts.exitSoon();
  }

  async function cleanUp(): Promise<void> {
    const kept = container && options.keepContainer && !interrupts.signal ? container : undefined;
    if (container && !kept) {
      await container.remove().catch((err: Error) => reporter.warn(`could not remove container ${container?.id}: ${err.message}`));
    } else if (kept) {
      try {
        // A kept container is for debugging the build, not for reading its credentials.
        if (options.bindings.length > 0) {
          const removed = await kept.runCommand(['/bin/sh', '-c', `rm -rf ${BINDINGS_DIR}/*`]);
          if (removed.exitCode !== 0) throw new Error(`the bindings could not be removed from it (${removed.output.trim()})`);
        }
        const name = await kept.keep();
        const short = kept.id.slice(0, 12);
        reporter.info(`Kept build container ${short} (${name}). Get a shell in it with:`);
        reporter.info(`  docker exec -it ${short} sh`);
        reporter.info(`Remove it with: docker rm -f ${short}`);
      } catch (err) {
        reporter.warn(`could not keep container ${kept.id.slice(0, 12)}: ${(err as Error).message}`);
        await kept.remove().catch(() => undefined);
      }
    }
    // Never a volume another build uses: the engine refuses to remove a volume in use.
    // Settled in milliseconds; it may have been cut short by a signal.
    await cacheReady?.catch(() => undefined);
    if (newVolume && !kept) await docker.removeVolumeIfUnused(newVolume).catch(() => undefined);
  }
}
