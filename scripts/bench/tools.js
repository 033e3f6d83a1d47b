'use strict';
/**
 * The three ways the benchmark builds an app, each with the same shape:
 *   reset(app)  empty this tool's caches and drop its image (not timed; before a cold build)
 *   build(app, scenario)  one timed build -> { ms, bytesSent, imageId, detail }
 * Everything they create carries the bench's names or label, so cleanup() finds it.
 */
const fs = require('node:fs');
const path = require('node:path');
const { run, runOrThrow, parseJsonResult, layerBytesSent } = require('./exec');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO_ROOT, 'bin', 'gobuild-cnb');
const BUILDER = process.env.BENCH_BUILDER || 'gobuild-cnb/test-builder:bookworm';
const RUN_IMAGE = process.env.BENCH_RUN_IMAGE || 'gobuild-cnb/test-run:bookworm';
const LABEL = 'io.gobuild-cnb.bench=1';
const IMAGE_REPO_PREFIX = 'gobuild-cnb-bench';
const BUILD_TIMEOUT_MS = 15 * 60_000;
/** The flags the Go buildpack uses by default, so every tool compiles the same way. */
const GO_BUILD = 'go build -trimpath -buildmode=pie -o /tmp/bench-app .';

const imageName = (app, tool) => `${IMAGE_REPO_PREFIX}/${app.name}:${tool}`;

async function removeImage(ref) {
  await run('docker', ['rmi', '-f', ref], { timeoutMs: 120_000 });
}

/** Removes volumes, retrying a few times: a container that used one may still be going away. */
async function removeVolumes(names) {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const r = await run('docker', ['volume', 'rm', '-f', ...names], { timeoutMs: 60_000 });
    if (r.code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function imageId(ref) {
  const r = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.trim() : null;
}

const gobuild = {
  id: 'gobuild',
  title: 'gobuild-cnb',
  cacheVolume: (app) => `${IMAGE_REPO_PREFIX}-${app.name}-cache`,
  async reset(app) {
    await removeImage(imageName(app, 'gobuild'));
  },
  async build(app, scenario) {
    const args = ['build', app.dir, '-t', imageName(app, 'gobuild'), '--builder', BUILDER, '--pull-policy', 'never', '--json'];
    args.push('--cache-volume', this.cacheVolume(app));
    if (scenario === 'cold') args.push('--clear-cache');
    const r = await runOrThrow(CLI, args, { timeoutMs: BUILD_TIMEOUT_MS });
    const result = parseJsonResult(r.stdout);
    return {
      ms: r.ms,
      bytesSent: layerBytesSent(result),
      imageId: result?.id ?? null,
      detail: { timings: result?.timings ?? null, reasons: result?.cache?.reasons ?? null },
    };
  },
  async cleanup(apps) {
    for (const app of apps) await removeImage(imageName(app, 'gobuild'));
    await removeVolumes(apps.map((app) => this.cacheVolume(app)));
  },
};

/**
 * How `docker build` runs here: BuildKit (with a GOCACHE cache mount) when some docker client
 * can use it: the CLI's buildx plugin, or a client with BuildKit built in (Debian's 20.10
 * /usr/bin/docker with DOCKER_BUILDKIT=1). Otherwise the classic builder.
 */
async function detectDockerBuild(workDir) {
  const forced = process.env.BENCH_DOCKER_BUILD;
  const probeDir = path.join(workDir, 'buildkit-probe');
  fs.mkdirSync(probeDir, { recursive: true });
  fs.writeFileSync(path.join(probeDir, 'Dockerfile'), `FROM ${RUN_IMAGE}\nRUN --mount=type=cache,target=/tmp/probe-cache true\n`);
  const probeTag = `${IMAGE_REPO_PREFIX}/probe:buildkit`;
  const candidates = ['docker', '/usr/bin/docker'].filter((c, i) => i === 0 || fs.existsSync(c));
  if (forced !== 'classic') {
    for (const client of candidates) {
      const env = { ...process.env, DOCKER_BUILDKIT: '1' };
      const r = await run(client, ['build', '-q', '--label', LABEL, '-t', probeTag, probeDir], { env, timeoutMs: 120_000 });
      await removeImage(probeTag);
      if (r.code === 0) {
        const version = (await run(client, ['version', '--format', '{{.Client.Version}}'], { timeoutMs: 30_000 })).stdout.trim();
        return { mode: 'buildkit', client, env, description: `BuildKit (DOCKER_BUILDKIT=1 ${client}, client ${version}) with a GOCACHE cache mount` };
      }
    }
    if (forced === 'buildkit') throw new Error('BENCH_DOCKER_BUILD=buildkit but no docker client here builds with BuildKit');
  }
  const env = { ...process.env, DOCKER_BUILDKIT: '0' };
  return { mode: 'classic', client: 'docker', env, description: 'classic builder (no BuildKit client here), no cache mount' };
}

function dockerfile(mode) {
  const template = fs.readFileSync(path.join(__dirname, `Dockerfile.${mode}`), 'utf8');
  return template.replaceAll('@BUILDER@', BUILDER).replaceAll('@RUN_IMAGE@', RUN_IMAGE).replaceAll('@GO_BUILD@', GO_BUILD);
}

function dockerBuildTool(engine, workDir) {
  const dockerfilePath = path.join(workDir, `Dockerfile.${engine.mode}`);
  fs.writeFileSync(dockerfilePath, dockerfile(engine.mode));
  return {
    id: 'docker',
    title: 'docker build',
    engine,
    async reset(app) {
      await removeImage(imageName(app, 'docker'));
      // The builder cache holds both the layer cache and the GOCACHE cache mount.
      await runOrThrow(engine.client, ['builder', 'prune', '-af'], { env: engine.env, timeoutMs: 300_000 });
    },
    async build(app, scenario) {
      const args = ['build', '-q', '--label', LABEL, '-f', dockerfilePath, '-t', imageName(app, 'docker')];
      if (scenario === 'cold') args.push('--no-cache');
      args.push(app.dir);
      const r = await runOrThrow(engine.client, args, { env: engine.env, timeoutMs: BUILD_TIMEOUT_MS });
      return { ms: r.ms, bytesSent: null, imageId: await imageId(imageName(app, 'docker')), detail: null };
    },
    async cleanup(apps) {
      for (const app of apps) await removeImage(imageName(app, 'docker'));
      await run('docker', ['image', 'prune', '-f', '--filter', `label=${LABEL}`], { timeoutMs: 120_000 });
      await run(engine.client, ['builder', 'prune', '-af'], { env: engine.env, timeoutMs: 300_000 });
    },
  };
}

/**
 * The floor: only `go build` in a container of the same builder, GOCACHE on a volume, the source
 * streamed in as a tar on stdin (no bind mount, like the other two). The whole container run is timed.
 */
const floor = {
  id: 'floor',
  title: 'floor (go build)',
  volume: (app) => `${IMAGE_REPO_PREFIX}-${app.name}-floor-gocache`,
  async reset(app) {
    await removeVolumes([this.volume(app)]);
    await runOrThrow('docker', ['volume', 'create', '--label', LABEL, this.volume(app)], { timeoutMs: 60_000 });
  },
  async build(app) {
    const dockerRun = ['run', '--rm', '-i', '--label', LABEL, '--user', '0', '-v', `${this.volume(app)}:/gocache`, '-e', 'GOCACHE=/gocache'];
    dockerRun.push(BUILDER, 'sh', '-c', `mkdir /tmp/src && tar -x -C /tmp/src && cd /tmp/src && ${GO_BUILD}`);
    const script = 'dir=$1; shift; tar -C "$dir" -cf - . | docker "$@"';
    const r = await runOrThrow('sh', ['-c', script, 'sh', app.dir, ...dockerRun], { timeoutMs: BUILD_TIMEOUT_MS });
    return { ms: r.ms, bytesSent: null, imageId: null, detail: null };
  },
  async cleanup(apps) {
    await removeVolumes(apps.map((app) => this.volume(app)));
  },
};

module.exports = { removeVolumes, gobuild, floor, dockerBuildTool, detectDockerBuild, CLI, BUILDER, RUN_IMAGE, LABEL, IMAGE_REPO_PREFIX };
