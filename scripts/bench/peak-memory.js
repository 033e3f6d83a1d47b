'use strict';
/**
 * Peak memory of the CLI while it exports a big layer: builds an app that embeds `layerMb` MB of
 * random data with gobuild-cnb and reads the node process's peak RSS, from `/usr/bin/time -v`
 * when it is installed, else by polling VmHWM in /proc/<pid>/status (a high-water mark, so
 * polling only misses growth in the last interval). Everything it makes is removed.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { run, parseTimeVMaxRss, parseJsonResult } = require('./exec');
const { generateEmbedApp } = require('./gen-app');
const { CLI, BUILDER, IMAGE_REPO_PREFIX, removeVolumes } = require('./tools');

const TIMEOUT_MS = 15 * 60_000;

/** Runs the CLI polling its VmHWM; resolves { code, stdout, stderr, peakRss }. */
function runPollingHwm(args) {
  return new Promise((resolve) => {
    const child = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let peakRss = null;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const poll = setInterval(() => {
      try {
        const match = /VmHWM:\s*(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (match) peakRss = Math.max(peakRss ?? 0, Number(match[1]) * 1024);
      } catch {
        // The process has just exited.
      }
    }, 50);
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, peakRss });
    });
  });
}

async function measurePeakMemory(workDir, layerMb) {
  const appDir = path.join(workDir, 'bigembed');
  const tag = `${IMAGE_REPO_PREFIX}/bigembed:gobuild`;
  const volume = `${IMAGE_REPO_PREFIX}-bigembed-cache`;
  generateEmbedApp(appDir, layerMb * 1024 * 1024);
  const args = ['build', appDir, '-t', tag, '--builder', BUILDER, '--pull-policy', 'never', '--json', '--cache-volume', volume];
  const started = Date.now();
  try {
    let method;
    let result;
    if (fs.existsSync('/usr/bin/time')) {
      method = '/usr/bin/time -v';
      const r = await run('/usr/bin/time', ['-v', CLI, ...args], { timeoutMs: TIMEOUT_MS });
      result = { ...r, peakRss: parseTimeVMaxRss(r.stderr) };
    } else {
      method = 'VmHWM polled every 50 ms';
      result = await runPollingHwm(args);
    }
    if (result.code !== 0) throw new Error(`building the ${layerMb} MB app failed:\n${result.stderr.trim().split('\n').slice(-20).join('\n')}`);
    const layers = parseJsonResult(result.stdout)?.layers ?? [];
    const layerBytes = Math.max(0, ...layers.map((l) => (typeof l.size === 'number' ? l.size : 0))) || null;
    return { layerMb, layerBytes, peakRss: result.peakRss, method, ms: Date.now() - started };
  } finally {
    fs.rmSync(appDir, { recursive: true, force: true });
    await run('docker', ['rmi', '-f', tag], { timeoutMs: 120_000 });
    await removeVolumes([volume]);
  }
}

module.exports = { measurePeakMemory };
