/**
 * Schemas of the TOML files a buildpack reads or writes (spec buildpack.md "Data Format"):
 * buildpack.toml, launch.toml and <layer>.toml. Parsers validate and return typed values; a
 * bad file is an error naming the file and the field.
 */
import { parseToml, type TomlTable } from './toml';
import { isValidProcessType } from './spec';

export class CnbFileError extends Error {}

export interface BuildpackDescriptor {
  api: string;
  id: string;
  version: string;
  name?: string;
  homepage?: string;
  sbomFormats: string[];
  targets: Array<{ os?: string; arch?: string }>;
}

export interface Process {
  type: string;
  command: string[];
  args: string[];
  default: boolean;
  workingDir?: string;
}

export interface LaunchToml {
  processes: Process[];
  labels: Array<{ key: string; value: string }>;
}

export interface LayerTypes {
  launch: boolean;
  build: boolean;
  cache: boolean;
}

export interface LayerMetadataFile {
  types: LayerTypes;
  metadata: TomlTable;
}

const table = (v: unknown): TomlTable => (v && typeof v === 'object' && !Array.isArray(v) ? (v as TomlTable) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function parseBuildpackToml(text: string, file = 'buildpack.toml'): BuildpackDescriptor {
  const doc = parseToml(text, file);
  const bp = table(doc.buildpack);
  const id = str(bp.id);
  const version = str(bp.version);
  const api = str(doc.api);
  if (!api || !id || !version) {
    throw new CnbFileError(`${file}: needs api, [buildpack] id and version`);
  }
  const targets = Array.isArray(doc.targets) ? doc.targets.map((t) => ({ os: str(table(t).os), arch: str(table(t).arch) })) : [];
  const sbomFormats = Array.isArray(bp['sbom-formats']) ? bp['sbom-formats'].filter((f): f is string => typeof f === 'string') : [];
  return { api, id, version, name: str(bp.name), homepage: str(bp.homepage), sbomFormats, targets };
}

export function parseLaunchToml(text: string, file = 'launch.toml'): LaunchToml {
  const doc = parseToml(text, file);
  const rawProcesses = Array.isArray(doc.processes) ? doc.processes : [];
  const processes = rawProcesses.map((raw, i): Process => {
    const p = table(raw);
    const type = str(p.type);
    if (!type || !isValidProcessType(type)) {
      throw new CnbFileError(`${file}: processes[${i}].type ${JSON.stringify(p.type)} is not a valid process type`);
    }
    if ('direct' in p) {
      throw new CnbFileError(`${file}: processes[${i}] has a 'direct' key, which Buildpack API >= 0.9 forbids`);
    }
    const command = Array.isArray(p.command) ? p.command.filter((c): c is string => typeof c === 'string') : [];
    if (command.length === 0) {
      throw new CnbFileError(`${file}: processes[${i}] (${type}) needs a non-empty command array`);
    }
    const args = Array.isArray(p.args) ? p.args.filter((c): c is string => typeof c === 'string') : [];
    return { type, command, args, default: p.default === true, workingDir: str(p['working-dir']) };
  });
  const labels = (Array.isArray(doc.labels) ? doc.labels : []).map((raw) => {
    const l = table(raw);
    return { key: String(l.key ?? ''), value: String(l.value ?? '') };
  });
  return { processes, labels };
}

export function parseLayerToml(text: string, file: string): LayerMetadataFile {
  const doc = parseToml(text, file);
  for (const key of ['launch', 'build', 'cache']) {
    if (key in doc) {
      throw new CnbFileError(`${file}: '${key}' must be under [types], not at the top level`);
    }
  }
  const types = table(doc.types);
  return {
    types: { launch: types.launch === true, build: types.build === true, cache: types.cache === true },
    metadata: table(doc.metadata),
  };
}

/** The process that ENTRYPOINT starts: the requested one, else the default, else the only one. */
export function selectDefaultProcess(processes: Process[], requested?: string): Process | undefined {
  if (requested) return processes.find((p) => p.type === requested);
  return processes.find((p) => p.default) ?? (processes.length === 1 ? processes[0] : undefined);
}
