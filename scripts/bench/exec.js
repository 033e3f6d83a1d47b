'use strict';
/** Running commands with a deadline and a wall clock, and the small statistics the benchmark needs. */
const { spawn } = require('node:child_process');

/** Process groups of the commands still running, so an interrupted bench can stop them. */
const running = new Set();

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Stops every command run() started that is still running (each is its own process group):
 * SIGTERM first, so gobuild-cnb removes its build container and docker build cancels, then
 * SIGKILL for whatever is left after 20 s.
 */
function stopRunning() {
  const groups = [...running];
  for (const pgid of groups) killGroup(pgid, 'SIGTERM');
  setTimeout(() => groups.filter((g) => running.has(g)).forEach((g) => killGroup(g, 'SIGKILL')), 20_000).unref();
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
      killGroup(child.pid, 'SIGKILL');
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

/** Resolves once no command run() started is running, or after timeoutMs. */
async function waitForIdle(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
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

module.exports = { run, runOrThrow, stopRunning, waitForIdle, median, parseTimeVMaxRss, parseJsonResult, layerBytesSent };
