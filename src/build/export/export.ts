/**
 * Export, first half: turn what the build produced into an image (config + layers on disk);
 * src/app/sinks.ts hands it to the daemon, a registry or an OCI layout.
 * Layer order is the lifecycle's (cnb-spec.md section 0.4): run image layers, the buildpack's
 * launch layers (by name), the SBOM layer, the app, the launcher, config/metadata.toml, and
 * the process-types layer. Layers are written reproducibly by src/image, so the same inputs
 * give the same image ID.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { blobCacheDir } from './run-image-layers';
import type { DockerClient, ImageSummary } from '../../docker/client';
import type { Reporter } from '../../ui/reporter';
import type { BuildOptions } from '../options';
import type { BuilderInfo } from '../prepare/builder';
import type { CollectedBuild } from './collect';
import { staticBaseAccounts, staticBaseCaPath, STATIC_BASE_CA_BUNDLE, type RunBase } from '../prepare/run-base';
import type { BuildpackDescriptor, Process } from '../../cnb/files';
import { selectDefaultProcess } from '../../cnb/files';
import { computeLaunchEnv } from '../../cnb/launch-env';
import { buildMetadataLabel, configMetadataToml, lifecycleMetadataLabel } from '../../cnb/metadata';
import { Redactor } from '../../ui/redact';
import { Labels, PLATFORM_API, Paths } from '../../cnb/spec';
import { ExportError } from '../../errors';
import { readElf } from './elf';
import { previousLayerShas } from '../../cache/cache-report';
import { writeLayer, type LayerSource, type SyntheticEntry } from '../../image/layer';
import { buildImageConfig, serializeConfig } from '../../image/config';
import type { Digest, ImageConfig, LayerFile, Platform, SerializedJson } from '../../image/types';

export interface ExportInput {
  options: Readonly<BuildOptions>;
  docker: DockerClient;
  reporter: Reporter;
  collected: CollectedBuild;
  run: RunBase;
  builder: BuilderInfo;
  buildpack: BuildpackDescriptor;
  workDir: string;
  /** The platform this image is for (the buildpack built its binaries for it). */
  platform: Platform;
  /** The image the tag named before this build, whose layers may be reused. */
  previous: ImageSummary | null;
}

export interface ExportedLayer {
  name: string;
  diffId: Digest;
  size: number;
  /** The previous image with this tag had this very layer. */
  reused?: boolean;
}

/**
 * An image ready for a sink: its config, the run image's layers (which stay where they are,
 * in the daemon or a registry, until a sink needs them) and the layers this build wrote to disk.
 */
export interface AssembledImage {
  config: SerializedJson;
  platform: Platform;
  /** The run image the layers go on, when there is one (not for static/scratch). */
  runImage?: { ref: string; diffIds: Digest[] };
  /** Layers on disk, after the run image's, in image order. */
  layers: Array<{ name: string; diffId: Digest; path: string; size?: number; reused?: boolean }>;
  processes: ExportResult['processes'];
  defaultProcess: string;
}

export interface ExportResult {
  image: string;
  /** Image ID: sha256 of the config. */
  id: string;
  /** Manifest digest, for registry and OCI outputs. */
  digest?: string;
  /** Bytes of layer data sent to the daemon (0 when it had every layer). */
  layerBytesSent?: number;
  size?: number;
  processes: Array<{ type: string; command: string[]; args: string[] }>;
  defaultProcess: string;
  layers: ExportedLayer[];
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function chooseDefaultProcess(processes: Process[], requested: string | undefined): Process {
  const chosen = selectDefaultProcess(processes, requested);
  if (chosen) return chosen;
  const types = processes.map((p) => p.type).join(', ') || '(none)';
  if (requested) {
    throw new ExportError(`--default-process ${requested} is not a process of this app (it has: ${types})`, {
      hint: 'Name one of the binaries the build produced, or set BP_GO_TARGETS to build it.',
    });
  }
  throw new ExportError(`the build declared no default process (processes: ${types})`, {
    hint: 'Choose one with --default-process <type>.',
  });
}

/** Host path of a process's binary, when it lives in one of the collected launch layers. */
function hostBinary(collected: CollectedBuild, command: string): string | undefined {
  for (const layer of collected.layers) {
    if (command.startsWith(`${layer.imagePath}/`)) return join(layer.hostDir, command.slice(layer.imagePath.length + 1));
  }
  return undefined;
}

/** Run images are immutable by ID, so what a probe found is kept in the user's cache. */
function probeCacheFile(): string {
  return join(dirname(blobCacheDir()), 'run-image-paths.json');
}

/** Whether the run image has `path`: a container is created (never started) and looked into. */
async function runImageHasPath(docker: DockerClient, imageId: string, ref: string, path: string): Promise<boolean> {
  const key = `${imageId} ${path}`;
  let known: Record<string, boolean> = {};
  try {
    known = JSON.parse(readFileSync(probeCacheFile(), 'utf8')) as Record<string, boolean>;
  } catch {
    // No cache yet, or an unreadable one: probe.
  }
  if (key in known) return known[key];
  const probe = await docker.createContainer({ image: ref, user: '0:0', labels: { [Labels.buildContainer]: 'run-image-probe' }, cmd: ['true'], entrypoint: [] });
  let present: boolean;
  try {
    present = await docker.pathExists(probe, path);
  } finally {
    await docker.removeContainer(probe);
  }
  try {
    mkdirSync(dirname(probeCacheFile()), { recursive: true });
    writeFileSync(probeCacheFile(), JSON.stringify({ ...known, [key]: present }));
  } catch {
    // A cache we cannot write only costs the next build a probe.
  }
  return present;
}

/** A binary that needs a dynamic loader cannot start on a run image without one: say so now. */
async function checkBinariesCanStart(input: ExportInput, processes: Process[]): Promise<void> {
  const { collected, run, docker } = input;
  for (const process of processes) {
    const binary = hostBinary(collected, process.command[0]);
    if (!binary || !existsSync(binary)) continue;
    const elf = readElf(binary);
    if (elf && elf.machine !== input.platform.architecture) {
      throw new ExportError(`${process.type} was built for ${elf.machine}, but the image is for ${input.platform.architecture}`, {
        hint: 'Do not set GOARCH yourself: use --platform, which builds the binaries and the image for the same architecture.',
      });
    }
    if (!elf?.interpreter) continue;
    const present = run.kind === 'image' && (await runImageHasPath(docker, run.summary.id, run.name, elf.interpreter));
    if (!present) {
      throw new ExportError(
        `${process.type} is dynamically linked: it needs the C library's loader ${elf.interpreter}, but the run image ${run.name} has none`,
        {
          hint:
            'Build a static binary (--env CGO_ENABLED=0, and no -buildmode=pie in BP_GO_BUILD_FLAGS), ' +
            'or use a run image with glibc (e.g. --run-image debian:bookworm-slim or the test run image).',
        },
      );
    }
  }
}

/** The run image's config as an OCI config, from what `docker inspect` tells. */
function baseImageConfig(summary: ImageSummary): ImageConfig {
  return {
    os: summary.os,
    architecture: summary.architecture,
    ...(summary.variant ? { variant: summary.variant } : {}),
    config: { ...summary.config, Entrypoint: summary.config.Entrypoint ?? undefined, Labels: summary.config.Labels ?? undefined } as ImageConfig['config'],
    rootfs: { type: 'layers', diff_ids: [...summary.diffIds] },
  };
}

export async function assembleImage(input: ExportInput): Promise<AssembledImage> {
  const { options, collected, run, builder, buildpack, reporter, workDir } = input;
  const processes = collected.launch.processes;
  const defaultProcess = chooseDefaultProcess(processes, options.defaultProcess);
  await checkBinariesCanStart(input, processes);

  const layerDir = join(workDir, 'image-layers');
  mkdirSync(layerDir, { recursive: true });
  const owner = { uid: builder.uid, gid: builder.gid };
  const make = (entries: LayerSource, root = false): Promise<LayerFile> =>
    writeLayer({ entries, outDir: layerDir, ...(root ? { uid: 0, gid: 0 } : owner) });
  // The layers this build adds on top of the base, in image order.
  const added: Array<{ name: string; file: LayerFile; reused: boolean }> = [];
  const previousShas = previousLayerShas(input.previous);
  const add = (name: string, file: LayerFile): LayerFile => {
    // The lifecycle's words: a layer whose diffId the previous image has is reused.
    const reused = previousShas.get(name) === file.diffId;
    reporter.detail(`${reused ? 'Reusing' : 'Adding'} layer '${name}' ${file.diffId.slice(0, 19)} (${file.size} bytes)`);
    added.push({ name, file, reused });
    return file;
  };

  // 1. Base.
  let baseConfig: Partial<ImageConfig['config']> = {};
  const baseLayers: Array<{ diffId: Digest; path?: string }> = [];
  if (run.kind === 'image') {
    baseConfig = { Env: run.summary.config.Env, User: run.summary.config.User };
    for (const diffId of run.summary.diffIds) baseLayers.push({ diffId });
  } else if (run.kind === 'static') {
    const ca = staticBaseCaPath(workDir);
    const accounts = staticBaseAccounts(builder.uid, builder.gid);
    const entries: SyntheticEntry[] = [
      { type: 'file', path: '/etc/passwd', content: accounts.passwd, mode: 0o644 },
      { type: 'file', path: '/etc/group', content: accounts.group, mode: 0o644 },
      { type: 'dir', path: '/tmp', mode: 0o1777 },
      { type: 'dir', path: '/home/cnb', mode: 0o755, owner },
    ];
    if (existsSync(ca)) entries.push({ type: 'host-file', path: STATIC_BASE_CA_BUNDLE, hostPath: ca, mode: 0o644 });
    const layer = await make({ entries }, true);
    baseLayers.push({ diffId: layer.diffId, path: layer.path });
    baseConfig = { Env: [`PATH=${DEFAULT_PATH}`, `SSL_CERT_FILE=${STATIC_BASE_CA_BUNDLE}`] };
  }

  // 2. Buildpack launch layers, 3. SBOM, 4. app, 5. launcher, 6. config, 7. process types.
  const layerRecords = [];
  for (const layer of collected.layers) {
    const file = add(`${buildpack.id}:${layer.name}`, await make({ dirs: [{ imagePath: layer.imagePath, hostDir: layer.hostDir }] }));
    layerRecords.push({ name: layer.name, diffId: file.diffId, ...layer.types, metadata: layer.metadata });
  }
  let sbomDiffId: Digest | undefined;
  if (collected.sboms.length > 0) {
    const file = add('sbom', await make({ entries: collected.sboms.map((s) => ({ type: 'host-file' as const, path: s.imagePath, hostPath: s.hostPath, mode: 0o644 })) }));
    sbomDiffId = file.diffId;
  }
  const app = add('app', await make({ dirs: [{ imagePath: Paths.app, hostDir: collected.appHostDir }] }));
  const useLauncher = collected.launcherHostPath !== undefined;
  let launcherDiffId: Digest | undefined;
  if (collected.launcherHostPath) {
    const file = add('launcher', await make({ entries: [{ type: 'host-file', path: Paths.launcher, hostPath: collected.launcherHostPath, mode: 0o755 }] }, true));
    launcherDiffId = file.diffId;
  }
  const configLayer = add(
    'config',
    await make({
      entries: [
        { type: 'file', path: `${Paths.layers}/config/metadata.toml`, content: configMetadataToml({ buildpack, processes, defaultProcess: defaultProcess.type }), mode: 0o644 },
      ],
    }),
  );
  const processLayer = add(
    'process-types',
    await make(
      {
        entries: processes.map((p) => ({
          type: 'symlink' as const,
          path: `${Paths.process}/${p.type}`,
          // With a launcher the symlink name selects the process; without one it is the binary itself.
          target: useLauncher ? Paths.launcher : p.command[0],
        })),
      },
      true,
    ),
  );

  // Config.
  const baseEnv = baseConfig.Env ?? [`PATH=${DEFAULT_PATH}`];
  // A launcher computes the launch env itself at start-up; without one it is baked in here.
  const env = useLauncher
    ? [
        ...computeLaunchEnv(baseEnv, [], Paths.process),
        `CNB_PLATFORM_API=${PLATFORM_API}`,
        `CNB_LAYERS_DIR=${Paths.layers}`,
        `CNB_APP_DIR=${Paths.app}`,
        'CNB_DEPRECATION_MODE=quiet',
      ]
    : computeLaunchEnv(baseEnv, collected.layers, Paths.process);
  const runUser = baseConfig.User && !/^(root|0)(:|$)/.test(baseConfig.User) ? baseConfig.User : `${builder.uid}:${builder.gid}`;
  // The run image's labels stay (buildImageConfig keeps the base's); these are added on top,
  // with no secret value of the build env in them (issue #10 item 5).
  const labels: Record<string, string> = Redactor.forBuildEnv(options.env).redactDeep({
    ...Object.fromEntries(collected.launch.labels.map((l) => [l.key, l.value])),
    [Labels.lifecycleMetadata]: lifecycleMetadataLabel({
      buildpack,
      layers: layerRecords,
      appDiffIds: [app.diffId],
      configDiffId: configLayer.diffId,
      processTypesDiffId: processLayer.diffId,
      launcherDiffId,
      sbomDiffId,
      runImage: {
        reference: run.kind === 'image' ? run.summary.id : run.name,
        image: run.name,
        topLayer: baseLayers.length > 0 ? baseLayers[baseLayers.length - 1].diffId : undefined,
      },
    }),
    [Labels.buildMetadata]: buildMetadataLabel({ buildpack, processes, defaultProcess: defaultProcess.type, launcher: useLauncher }),
    [Labels.projectMetadata]: '{}',
  });
  const config = buildImageConfig({
    base: run.kind === 'image' ? baseImageConfig(run.summary) : null,
    platform: input.platform,
    layers: [
      ...(run.kind === 'static' ? [{ diffId: baseLayers[0].diffId, createdBy: 'gobuild-cnb: static run image' }] : []),
      ...added.map((l) => ({ diffId: l.file.diffId, createdBy: `gobuild-cnb: layer ${l.name}` })),
    ],
    env,
    entrypoint: [`${Paths.process}/${defaultProcess.type}`],
    workingDir: Paths.app,
    user: runUser,
    labels,
    sourceDateEpoch: options.sourceDateEpoch,
  });
  const serialized = serializeConfig(config);
  reporter.detail(`image config ${serialized.digest}`);
  return {
    config: serialized,
    platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
    runImage: run.kind === 'image' ? { ref: run.name, diffIds: run.summary.diffIds } : undefined,
    layers: [
      ...baseLayers.filter((l): l is { diffId: Digest; path: string } => l.path !== undefined).map((l) => ({ name: 'static base', diffId: l.diffId, path: l.path })),
      ...added.map((l) => ({ name: l.name, diffId: l.file.diffId, path: l.file.path, size: l.file.size, reused: l.reused })),
    ],
    processes: processes.map((p) => ({ type: p.type, command: p.command, args: p.args })),
    defaultProcess: defaultProcess.type,
  };
}
