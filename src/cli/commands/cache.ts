/** `gobuild-cnb cache ls|rm|prune`: see and remove the build-cache volumes. */
import type { Command } from 'commander';
import { DockerodeClient } from '../../docker/dockerode-client';
import { CACHE_LABEL } from '../../cache/cache-volume';
import { ExitCode, GobuildError, UsageError } from '../../errors';
import type { DockerClient } from '../../docker/client';

function cacheInUse(names: string[]): GobuildError {
  return new GobuildError(`cache volume${names.length > 1 ? 's' : ''} ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} in use by a build`, ExitCode.CacheBusy, {
    hint: 'Wait for the build to finish and run this again; a container kept with --keep-container uses its volume until you remove it (docker rm -f <id>).',
  });
}

/** Never a volume a running build uses: the engine refuses, and we say so (exit 5). */
async function removeCacheVolume(docker: DockerClient, name: string): Promise<void> {
  if ((await docker.removeVolumeIfUnused(name)) === 'in-use') throw cacheInUse([name]);
  process.stdout.write(`${name}\n`);
}

export function registerCacheCommand(program: Command): void {
  const cache = program
    .command('cache')
    .description('See and remove the Docker volumes that keep Go build caches between builds.')
    .addHelpText(
      'after',
      `
Examples:
  gobuild-cnb cache ls                 list cache volumes and the image each belongs to
  gobuild-cnb cache ls --json          the same as a JSON array
  gobuild-cnb cache rm my-app          remove the cache of image my-app (or give a volume name)
  gobuild-cnb cache prune              remove every gobuild-cnb cache volume`,
    );

  cache
    .command('ls')
    .description('list cache volumes')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const volumes = await new DockerodeClient().listVolumes(CACHE_LABEL);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(volumes.map((v) => ({ name: v.name, image: v.labels[CACHE_LABEL], created: v.createdAt })), null, 2)}\n`);
        return;
      }
      for (const v of volumes) process.stdout.write(`${v.name}\t${v.labels[CACHE_LABEL] ?? ''}\n`);
      if (volumes.length === 0) process.stderr.write('no gobuild-cnb cache volumes\n');
    });

  cache
    .command('rm')
    .description('remove the cache of an image (by image name or volume name)')
    .argument('<image-or-volume>', 'image name as given to -t, or a cache volume name')
    .action(async (target: string) => {
      const docker = new DockerodeClient();
      const volumes = await docker.listVolumes(CACHE_LABEL);
      const matches = volumes.filter((v) => v.name === target || v.labels[CACHE_LABEL] === target);
      if (matches.length === 0) {
        throw new UsageError(`no gobuild-cnb cache volume for ${JSON.stringify(target)}`, { hint: 'See `gobuild-cnb cache ls`.' });
      }
      for (const v of matches) await removeCacheVolume(docker, v.name);
    });

  cache
    .command('prune')
    .description('remove every gobuild-cnb cache volume')
    .action(async () => {
      const docker = new DockerodeClient();
      const busy: string[] = [];
      for (const v of await docker.listVolumes(CACHE_LABEL)) {
        if ((await docker.removeVolumeIfUnused(v.name)) === 'in-use') busy.push(v.name);
        else process.stdout.write(`${v.name}\n`);
      }
      if (busy.length > 0) throw cacheInUse(busy);
    });
}
