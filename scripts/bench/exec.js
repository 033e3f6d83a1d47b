'use strict';
/** Running commands with a deadline and a wall clock, and the small statistics the benchmark needs. */
const { spawn } = require('node:child_process');

/** Process groups of the commands still running, so an interrupted bench can stop them. */
const running = new Set();

/** Kills every command run() started that is still running (each is its own process group). */
function stopRunning() {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * Runs a command; resolves { code, stdout, stderr, ms } and never rejects on a non-zero exit.
 * The command runs in its own process group, killed as a whole when timeoutMs passes.
 */
function run(cmd, args, { timeoutMs = 600_000, env = process.env, cwd } = {}) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) running.add(child.pid);
    const out = [];
    const err = [];
    let timedOut = false;
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, timeoutMs);
    let finished = false;
    const finish = (code) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      running.delete(child.pid);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const stderr = Buffer.concat(err).toString() + (timedOut ? `\n[bench] killed after ${timeoutMs} ms` : '');
      resolve({ code: timedOut ? -1 : code, stdout: Buffer.concat(out).toString(), stderr, ms });
    };
    child.on('error', (e) => {
      err.push(Buffer.from(String(e.message)));
      finish(-1);
    });
    child.on('close', (code) => finish(code ?? -1));
  });
}

/** Like run, but throws with the command's output when it fails. */
async function runOrThrow(cmd, args, options) {
  const result = await run(cmd, args, options);
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-25).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited ${result.code}:\n${tail}`);
  }
  return result;
}

function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** "Maximum resident set size (kbytes): N" from `/usr/bin/time -v` output, in bytes. */
function parseTimeVMaxRss(stderr) {
  const match = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(stderr);
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * The single JSON object gobuild-cnb prints with --json: the last top-level `{...}` on stdout
 * (stdout holds only the result, but be lenient about stray lines before it).
 */
function parseJsonResult(stdout) {
  const start = stdout.indexOf('{');
  if (start < 0) return null;
  try {
    return JSON.parse(stdout.slice(start));
  } catch {
    return null;
  }
}

/**
 * Layer bytes gobuild-cnb sent to the daemon, from its --json result: an explicit byte count when
 * the result has one, else the sizes of the layers not marked `reused`. null when the result says
 * nothing about reuse (older CLI), so "unknown" is never reported as zero.
 */
function layerBytesSent(result) {
  if (!result || typeof result !== 'object') return null;
  for (const holder of [result, result.export, result.timings]) {
    if (!holder || typeof holder !== 'object') continue;
    for (const key of ['bytesSent', 'sentBytes', 'layerBytesSent']) {
      if (typeof holder[key] === 'number') return holder[key];
    }
  }
  const layers = Array.isArray(result.layers) ? result.layers : [];
  if (layers.length === 0 || !layers.every((l) => typeof l.reused === 'boolean')) return null;
  return layers.filter((l) => !l.reused).reduce((sum, l) => sum + (typeof l.size === 'number' ? l.size : 0), 0);
}

module.exports = { run, runOrThrow, stopRunning, median, parseTimeVMaxRss, parseJsonResult, layerBytesSent };
