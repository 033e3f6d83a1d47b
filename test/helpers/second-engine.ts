/**
 * startSecondEngine: a second Docker engine on tcp://127.0.0.1:PORT (scripts/start-second-dockerd.sh),
 * holding copies of the given images from the first engine, for builds against a remote engine.
 * The engine is the tests' own: containers of ours an interrupted run left there are removed.
 * stop() stops it, unless GOBUILD_CNB_KEEP_DOCKER2=1 (then the next run starts in a second).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(__dirname, '../../scripts/start-second-dockerd.sh');
// Starting takes seconds; the first copy of the test images into it takes about half a minute.
const START_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 60_000;
const DOCKER_TIMEOUT_MS = 60_000;
const OUR_LABELS = ['io.gobuild-cnb.build', 'io.gobuild-cnb.test'];

export interface SecondEngine {
  /** tcp://127.0.0.1:PORT */
  dockerHost: string;
  /** The environment that points the docker CLI (and gobuild-cnb) at this engine. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startSecondEngine(images: string[]): Promise<SecondEngine> {
  const { stdout } = await run('bash', [SCRIPT, ...images], { timeout: START_TIMEOUT_MS });
  const dockerHost = stdout.trim();
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  for (const label of OUR_LABELS) {
    const { stdout: ids } = await run('docker', ['ps', '-aq', '--filter', `label=${label}`], { env, timeout: DOCKER_TIMEOUT_MS });
    const leftovers = ids.split('\n').filter(Boolean);
    if (leftovers.length > 0) await run('docker', ['rm', '-f', ...leftovers], { env, timeout: DOCKER_TIMEOUT_MS });
  }
  return {
    dockerHost,
    env: { DOCKER_HOST: dockerHost },
    stop: async () => {
      if (process.env.GOBUILD_CNB_KEEP_DOCKER2 === '1') return;
      await run('bash', [SCRIPT, '--stop'], { timeout: STOP_TIMEOUT_MS });
    },
  };
}
