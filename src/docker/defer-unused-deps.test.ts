/**
 * Runs in a child node process on the compiled file (npm test builds first): jest has its own
 * module registry, so the real require cache can only be seen from outside.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const COMPILED = join(ROOT, 'dist', 'docker', 'dockerode-client.js');

function inNode(script: string): unknown {
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 }));
}

describe('deferred dockerode dependencies', () => {
  beforeAll(() => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run npm run build first`);
  });

  it('loads neither gRPC nor ssh2 when the Docker client is loaded', () => {
    const loaded = inNode(`require(${JSON.stringify(COMPILED)}); console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /[\\\\/](@grpc|ssh2|protobufjs)[\\\\/]/.test(k))))`);
    expect(loaded).toEqual([]);
  });

  it('loads ssh2 when an ssh:// engine needs it, and gives the real agent', () => {
    const result = inNode(`
      require(${JSON.stringify(COMPILED)});
      const { createRequire } = require('node:module');
      const fromModem = createRequire(createRequire(require.resolve('dockerode')).resolve('docker-modem'));
      const agent = fromModem('./ssh')({ host: '127.0.0.1', port: 1, username: 'nobody' });
      console.log(JSON.stringify({ agent: agent.constructor.name, ssh2: Object.keys(require.cache).some((k) => /[\\\\/]ssh2[\\\\/]/.test(k)) }));
    `) as { agent: string; ssh2: boolean };
    expect(result).toEqual({ agent: 'Agent', ssh2: true });
  });
});
