'use strict';
/** Turning samples into medians, ratios, target verdicts, a console table and docs/benchmarks.md. */
const fs = require('node:fs');
const { median } = require('./exec');

const SCENARIOS = ['cold', 'one-line', 'no-change'];
const SCENARIO_TITLES = { cold: 'cold', 'one-line': 'one-line change', 'no-change': 'no change' };
const GENERATED_MARKER = '<!-- Everything below is written by `npm run bench`; edit the intro above it. -->';

const seconds = (ms) => (ms === null || ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);
const ratio = (a, b) => (a === null || b === null || b === 0 ? null : a / b);
const fmtRatio = (r) => (r === null ? 'n/a' : `${r.toFixed(2)}x`);
const fmtDelta = (ms) => (ms === null ? 'n/a' : `${ms >= 0 ? '+' : ''}${(ms / 1000).toFixed(2)} s`);
const mb = (bytes) => (bytes === null || bytes === undefined ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`);
const bytesText = (b) => (b === null || b === undefined ? 'not reported' : b === 0 ? '0' : mb(b));

/** Median of each phase in gobuild-cnb's --json `timings` (ms by phase name), over the runs. */
function phaseMedians(timings) {
  const names = [...new Set(timings.flatMap((t) => (t && typeof t === 'object' ? Object.keys(t) : [])))];
  return Object.fromEntries(names.map((n) => [n, median(timings.map((t) => t?.[n]))]));
}

/**
 * samples: { [app]: { [scenario]: { [tool]: [ {ms, bytesSent, imageId}, ... ] } } }
 * -> rows with medians and ratios, one per app and scenario.
 */
function summarize(samples) {
  const rows = [];
  for (const [app, byScenario] of Object.entries(samples)) {
    for (const scenario of SCENARIOS) {
      const byTool = byScenario[scenario];
      if (!byTool) continue;
      const med = (tool) => median((byTool[tool] ?? []).map((s) => s.ms));
      const gobuild = med('gobuild');
      const docker = med('docker');
      const floor = med('floor');
      const sent = (byTool.gobuild ?? []).map((s) => s.bytesSent);
      rows.push({
        app,
        scenario,
        runs: (byTool.gobuild ?? []).length,
        gobuild,
        docker,
        floor,
        vsDocker: ratio(gobuild, docker),
        overFloor: gobuild === null || floor === null ? null : gobuild - floor,
        // The largest count over the runs: a target of "zero bytes" must hold in every run.
        bytesSent: sent.some((b) => b === null) || sent.length === 0 ? null : Math.max(...sent),
        // Whether every no-change rebuild gave the image ID of the build before it.
        phases: phaseMedians((byTool.gobuild ?? []).map((s) => s.detail?.timings)),
        sameImageId: scenario === 'no-change' && (byTool.gobuild ?? []).every((s) => typeof s.sameImageId === 'boolean') ? byTool.gobuild.every((s) => s.sameImageId) : null,
      });
    }
  }
  return rows;
}

/** The targets, judged on the rows; memory is { peakRss } or null when not measured. */
function judgeTargets(rows, memory) {
  const verdict = (ok) => (ok === null ? 'unknown' : ok ? 'met' : 'NOT met');
  const targets = [];
  for (const row of rows) {
    if (row.scenario === 'no-change') {
      targets.push({ target: `No-change rebuild under 2 s wall (${row.app})`, measured: seconds(row.gobuild), result: verdict(row.gobuild === null ? null : row.gobuild < 2000) });
      targets.push({
        target: `No-change rebuild sends zero layer bytes (${row.app})`,
        measured: bytesText(row.bytesSent),
        result: verdict(row.bytesSent === null ? null : row.bytesSent === 0),
      });
    } else if (row.scenario === 'one-line') {
      targets.push({
        target: `One-line change at most floor + 1.5 s (${row.app})`,
        measured: `${seconds(row.gobuild)} vs floor ${seconds(row.floor)} (${fmtDelta(row.overFloor)})`,
        result: verdict(row.overFloor === null ? null : row.overFloor <= 1500),
      });
      targets.push({
        target: `One-line change at most 0.5 x docker build (${row.app})`,
        measured: `${fmtRatio(row.vsDocker)} (${seconds(row.gobuild)} vs ${seconds(row.docker)})`,
        result: verdict(row.vsDocker === null ? null : row.vsDocker <= 0.5),
      });
    } else {
      targets.push({ target: `Cold build at most 1.1 x docker build cold (${row.app})`, measured: fmtRatio(row.vsDocker), result: verdict(row.vsDocker === null ? null : row.vsDocker <= 1.1) });
    }
  }
  if (memory) {
    targets.push({
      target: `Peak CLI memory exporting a ${memory.layerMb} MB layer under 200 MB`,
      measured: mb(memory.peakRss),
      result: verdict(memory.peakRss === null ? null : memory.peakRss < 200e6),
    });
  }
  return targets;
}

/** Facts that put a verdict in context, derived from the numbers, never hand-written. */
function targetNotes(rows) {
  const notes = [];
  for (const r of rows.filter((row) => row.scenario === 'one-line' && row.docker !== null && row.floor !== null)) {
    if (r.docker * 0.5 < r.floor) {
      notes.push(
        `${r.app}: docker build's one-line change (${seconds(r.docker)}) is close to the floor (${seconds(r.floor)}), because BuildKit's ` +
          `cache mount keeps GOCACHE warm and the unchanged stage-2 layers come from its layer cache. So "0.5 x docker build" ` +
          `(${seconds(r.docker * 0.5)}) is below the floor, and no tool that runs go build in a container can meet it.`,
      );
    }
  }
  return notes;
}

function markdownTable(header, lines) {
  const all = [header, header.map(() => '---'), ...lines];
  return all.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function resultsTable(rows) {
  return markdownTable(
    ['App', 'Scenario', 'gobuild-cnb', 'docker build', 'floor', 'gobuild-cnb / docker', 'gobuild-cnb - floor', 'layer bytes sent'],
    rows.map((r) => [r.app, SCENARIO_TITLES[r.scenario], seconds(r.gobuild), seconds(r.docker), seconds(r.floor), fmtRatio(r.vsDocker), fmtDelta(r.overFloor), bytesText(r.bytesSent)]),
  );
}

/** Where gobuild-cnb's time goes: its own phase timings, next to its wall time. */
function phasesTable(rows) {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.phases ?? {})))];
  if (names.length === 0) return null;
  return markdownTable(
    ['App', 'Scenario', 'wall', ...names],
    rows.map((r) => [r.app, SCENARIO_TITLES[r.scenario], seconds(r.gobuild), ...names.map((n) => seconds(r.phases?.[n] ?? null))]),
  );
}

function targetsTable(targets) {
  return markdownTable(['Target', 'Measured', 'Result'], targets.map((t) => [t.target, t.measured, t.result]));
}

/** The console report: the same tables as the docs, plus where the docs went. */
function consoleReport({ rows, targets, memory, env, elapsedMs }) {
  const lines = ['', `Medians of ${env.runs} run(s); docker build: ${env.dockerBuild}.`, '', resultsTable(rows), ''];
  const phases = phasesTable(rows);
  if (phases) lines.push('gobuild-cnb phases (medians):', '', phases, '');
  if (memory) lines.push(`Peak RSS of the CLI building a ${memory.layerMb} MB layer: ${mb(memory.peakRss)} (${memory.method}, build ${seconds(memory.ms)})`, '');
  lines.push(targetsTable(targets), '', `Benchmark took ${seconds(elapsedMs)}.`);
  return lines.join('\n');
}

function environmentList(env) {
  return [
    `- Date: ${env.date}`,
    `- Machine: ${env.cpus} CPUs (${env.cpuModel}), ${(env.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, load average ${env.loadStart} at the start and ${env.loadEnd} at the end`,
    `- Versions: gobuild-cnb ${env.gobuildVersion}, node ${env.node}, Go ${env.goVersion} (in the builder), Docker engine ${env.dockerServer}`,
    `- Builder ${env.builder}, run image ${env.runImage}`,
    `- docker build: ${env.dockerBuild}`,
    `- Runs per scenario: ${env.runs} (medians shown); apps: ${env.apps.join(', ')}; whole benchmark took ${seconds(env.elapsedMs)}`,
  ].join('\n');
}

function generatedDocs({ rows, targets, memory, env, apps }) {
  const parts = [
    GENERATED_MARKER,
    '',
    '## Latest run',
    '',
    environmentList(env),
    '',
    '### Build times',
    '',
    resultsTable(rows),
    '',
    '"layer bytes sent" is what gobuild-cnb\'s `--json` reports (layers not reused, largest over the runs); "not reported" means its result did not say.',
  ];
  const phases = phasesTable(rows);
  if (phases) parts.push('', 'Where gobuild-cnb\'s time goes (medians of the phase timings in its `--json` result; wall time includes starting node and the CLI):', '', phases);
  if (rows.some((r) => r.sameImageId !== null)) {
    parts.push('', 'Same image ID after a no-change rebuild: ' + rows.filter((r) => r.sameImageId !== null).map((r) => `${r.app} ${r.sameImageId ? 'yes' : 'no'}`).join(', ') + '.');
  }
  parts.push('', '### Apps', '', ...apps.map((a) => `- **${a.name}**: ${a.description}`));
  if (memory) {
    parts.push('', '### Peak memory', '', `Building an app that embeds ${memory.layerMb} MB of random data (a ${mb(memory.layerBytes)} binary layer): peak RSS of the CLI ${mb(memory.peakRss)} (${memory.method}); the build took ${seconds(memory.ms)}.`);
  }
  parts.push('', '### Targets (issue 5)', '', targetsTable(targets), '');
  const notes = targetNotes(rows);
  if (notes.length) parts.push(...notes.map((n) => `- ${n}`), '');
  return parts.join('\n');
}

/** Rewrites docs/benchmarks.md: keeps the hand-written intro above the marker, replaces the rest. */
function writeDocs(file, intro, generated) {
  let head = intro;
  if (fs.existsSync(file)) {
    const current = fs.readFileSync(file, 'utf8');
    const at = current.indexOf(GENERATED_MARKER);
    if (at > 0) head = current.slice(0, at);
  }
  fs.writeFileSync(file, `${head.trimEnd()}\n\n${generated}`);
}

module.exports = { summarize, judgeTargets, consoleReport, generatedDocs, writeDocs, SCENARIOS, GENERATED_MARKER, seconds, mb };
