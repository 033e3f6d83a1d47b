/**
 * describeWithDocker: a describe block that needs a Docker engine. Without one it skips with a
 * visible notice, unless REQUIRE_DOCKER=1 (CI sets it), where it fails instead: CI must never
 * pass by skipping.
 */
import { execFileSync } from 'node:child_process';

let engineAnswer: string | null | undefined;

/** The engine's version string, or null when no engine answers (DOCKER_HOST is honoured). */
export function dockerEngineVersion(): string | null {
  if (engineAnswer !== undefined) return engineAnswer;
  try {
    engineAnswer = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    })
      .toString()
      .trim();
  } catch {
    engineAnswer = null;
  }
  return engineAnswer;
}

export function requireDocker(): boolean {
  return process.env.REQUIRE_DOCKER === '1';
}

export function describeWithDocker(name: string, body: () => void): void {
  const version = dockerEngineVersion();
  if (version) {
    describe(name, body);
    return;
  }
  if (requireDocker()) {
    describe(name, () => {
      it('needs a Docker engine (REQUIRE_DOCKER=1)', () => {
        throw new Error(
          'REQUIRE_DOCKER=1 but no Docker engine answers. Run `bash scripts/setup-docker.sh` or set DOCKER_HOST.',
        );
      });
    });
    return;
  }
  process.stderr.write(`\n[describeWithDocker] SKIPPED "${name}": no Docker engine answers (set REQUIRE_DOCKER=1 to fail instead)\n`);
  describe.skip(name, body);
}
