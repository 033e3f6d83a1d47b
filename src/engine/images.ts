/** Getting images the build needs, as the pull policy says (pack's --pull-policy). */
import type { DockerClient, ImageSummary } from '../docker/client';
import { ImageUnavailableError } from '../errors';
import type { PullPolicy } from '../build/options';
import type { Reporter } from '../ui/reporter';

export async function ensureImage(
  docker: DockerClient,
  ref: string,
  policy: PullPolicy,
  reporter: Reporter,
  role: 'builder' | 'run image',
): Promise<ImageSummary> {
  const local = policy === 'always' ? null : await docker.inspectImage(ref);
  if (local) return local;
  if (policy === 'never') {
    throw new ImageUnavailableError(`the ${role} ${ref} is not in the Docker daemon and --pull-policy is never`, {
      hint:
        role === 'builder'
          ? `Pull it first (docker pull ${ref}), drop --pull-policy never, or name a local builder with --builder (e.g. gobuild-cnb/test-builder:bookworm after scripts/test-images.sh).`
          : `Pull it first (docker pull ${ref}), drop --pull-policy never, or choose a local run image with --run-image (or --run-image static).`,
    });
  }
  reporter.info(`Pulling ${role} ${ref}`);
  await docker.pullImage(ref, (status) => reporter.detail(status));
  const pulled = await docker.inspectImage(ref);
  if (!pulled) throw new ImageUnavailableError(`the ${role} ${ref} is still missing after a pull`);
  return pulled;
}
