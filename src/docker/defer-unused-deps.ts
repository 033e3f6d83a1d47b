/**
 * dockerode loads gRPC (for BuildKit sessions, which we never open) and docker-modem loads ssh2
 * (only for DOCKER_HOST=ssh://...) at require time: about 120 ms of every command's start-up.
 * Both modules export one function, so each is registered in the require cache as a stand-in
 * function that loads the real module on its first call. Must be imported before dockerode.
 * If a dependency's layout changes, nothing is deferred and everything still works.
 */
import { createRequire } from 'node:module';
import Module from 'node:module';

function deferFunctionModule(resolvedPath: string, load: NodeJS.Require): void {
  if (load.cache[resolvedPath]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const standIn = function (this: unknown, ...args: unknown[]): unknown {
    if (!real) {
      delete load.cache[resolvedPath];
      real = load(resolvedPath) as (...args: unknown[]) => unknown;
    }
    return real.apply(this, args);
  };
  const entry = new Module(resolvedPath);
  entry.filename = resolvedPath;
  entry.loaded = true;
  entry.exports = standIn;
  load.cache[resolvedPath] = entry;
}

try {
  const fromDockerode = createRequire(require.resolve('dockerode'));
  const fromModem = createRequire(fromDockerode.resolve('docker-modem'));
  deferFunctionModule(fromDockerode.resolve('./session'), fromDockerode);
  deferFunctionModule(fromModem.resolve('./ssh'), fromModem);
} catch {
  // An unexpected layout: load everything eagerly, as dockerode does by itself.
}
