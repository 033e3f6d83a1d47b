/**
 * The local test images (scripts/test-images.sh) do what the platform relies on: the builder
 * really builds Go as the cnb user, and its binaries run in the run image as uid 1000.
 * Files go in and out with `docker cp` (no bind mounts), so a remote DOCKER_HOST works too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeWithDocker } from '../helpers/docker';

const BUILDER_IMAGE = 'gobuild-cnb/test-builder:bookworm';
const RUN_IMAGE = 'gobuild-cnb/test-run:bookworm';
const STACK_ID = 'io.buildpacks.stacks.bookworm';
const HELLO_FIXTURE = resolve(__dirname, '../../fixtures/hello');
const TEST_LABEL = 'io.gobuild-cnb.test=1';
const TIMEOUT_MS = 300_000;

function docker(args: string[]): string {
  try {
    return execFileSync('docker', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 }).toString();
  } catch (error) {
    const failed = error as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(
      `docker ${args.join(' ')} failed: ${failed.message}\nstdout: ${failed.stdout ?? ''}\nstderr: ${failed.stderr ?? ''}`,
    );
  }
}

/** Creates a labelled container running `sh -c script`, hands it to `use`, always removes it. */
function withContainer<T>(image: string, script: string, use: (id: string) => T): T {
  const id = docker(['create', '--label', TEST_LABEL, image, 'sh', '-c', script]).trim();
  try {
    return use(id);
  } finally {
    docker(['rm', '--force', '--volumes', id]);
  }
}

function imageConfig(image: string): { User: string; Env: string[]; Labels: Record<string, string> } {
  return JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config}}', image]));
}

describeWithDocker('local test images (scripts/test-images.sh)', () => {
  beforeAll(() => {
    for (const image of [BUILDER_IMAGE, RUN_IMAGE]) {
      try {
        docker(['image', 'inspect', image]);
      } catch {
        throw new Error(`${image} is missing; run \`bash scripts/test-images.sh\` first`);
      }
    }
  });

  it(
    'builds fixtures/hello with go build as the cnb user (uid 1000) in the builder',
    () => {
      const script = [
        'set -e',
        'echo "uid=$(id -u)"',
        'cd /workspace/hello',
        'go build -ldflags "-X main.version=test123" -o /tmp/hello .',
        'echo "version=$(/tmp/hello --version)"',
      ].join('\n');
      const output = withContainer(BUILDER_IMAGE, script, (id) => {
        docker(['cp', HELLO_FIXTURE, `${id}:/workspace/hello`]);
        return docker(['start', '--attach', id]);
      });
      expect(output).toContain('uid=1000\n');
      expect(output).toContain('version=test123\n');
    },
    TIMEOUT_MS,
  );

  it(
    'a binary built in the builder runs in the run image as uid 1000, with CA certificates',
    () => {
      const hostDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-builder-image-'));
      try {
        const buildScript = 'set -e; cd /workspace/hello; go build -ldflags "-X main.version=runs-in-run" -o /tmp/hello .';
        withContainer(BUILDER_IMAGE, buildScript, (id) => {
          docker(['cp', HELLO_FIXTURE, `${id}:/workspace/hello`]);
          docker(['start', '--attach', id]);
          docker(['cp', `${id}:/tmp/hello`, join(hostDir, 'hello')]);
        });
        const runScript = 'set -e; echo "uid=$(id -u) gid=$(id -g)"; test -s /etc/ssl/certs/ca-certificates.crt && echo certs=yes; echo "version=$(/tmp/hello --version)"';
        const output = withContainer(RUN_IMAGE, runScript, (id) => {
          docker(['cp', join(hostDir, 'hello'), `${id}:/tmp/hello`]);
          return docker(['start', '--attach', id]);
        });
        expect(output).toContain('uid=1000 gid=1000\n');
        expect(output).toContain('certs=yes\n');
        expect(output).toContain('version=runs-in-run\n');
      } finally {
        rmSync(hostDir, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );

  it('the builder describes itself as a CNB builder whose run image is the test run image', () => {
    const config = imageConfig(BUILDER_IMAGE);
    expect(config.User).toBe('cnb');
    expect(config.Env).toEqual(
      expect.arrayContaining(['CNB_USER_ID=1000', 'CNB_GROUP_ID=1000', `CNB_STACK_ID=${STACK_ID}`]),
    );
    expect(config.Env.find((entry) => entry.startsWith('PATH='))).toContain('/usr/local/go/bin');
    expect(config.Labels['io.buildpacks.stack.id']).toBe(STACK_ID);
    const metadata = JSON.parse(config.Labels['io.buildpacks.builder.metadata']);
    expect(metadata.stack.runImage.image).toBe(RUN_IMAGE);
    expect(metadata.images).toEqual([{ image: RUN_IMAGE }]);
  });

  it('the run image carries the stack and distro labels and runs as cnb', () => {
    const config = imageConfig(RUN_IMAGE);
    expect(config.User).toBe('cnb');
    expect(config.Labels).toMatchObject({
      'io.buildpacks.stack.id': STACK_ID,
      'io.buildpacks.base.distro.name': 'debian',
      'io.buildpacks.base.distro.version': '12',
    });
  });
});
