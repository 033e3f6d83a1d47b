/**
 * project.toml, the CNB project descriptor: which files of the app go into the build
 * (include/exclude, gitignore-like patterns) and build-time env. Both schema 0.2
 * ([_] + [io.buildpacks]) and the legacy 0.1 ([build]) layout are read.
 */
import { parseToml, type TomlTable } from './toml';

export interface ProjectDescriptor {
  include: string[];
  exclude: string[];
  buildEnv: Array<{ name: string; value: string }>;
}

const table = (v: unknown): TomlTable => (v && typeof v === 'object' && !Array.isArray(v) ? (v as TomlTable) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

export function parseProjectToml(text: string, file = 'project.toml'): ProjectDescriptor {
  const doc = parseToml(text, file);
  const io = table(table(doc.io).buildpacks);
  const section = Object.keys(io).length > 0 ? io : table(doc.build);
  const build = Object.keys(io).length > 0 ? table(io.build) : section;
  const env = (Array.isArray(build.env) ? build.env : []).map((e) => ({
    name: String(table(e).name ?? ''),
    value: String(table(e).value ?? ''),
  }));
  const descriptor = { include: strings(section.include), exclude: strings(section.exclude), buildEnv: env.filter((e) => e.name) };
  if (descriptor.include.length > 0 && descriptor.exclude.length > 0) {
    throw new Error(`${file}: include and exclude cannot both be set`);
  }
  return descriptor;
}

/** Compile one gitignore-like pattern to a test on a slash-separated relative path. */
export function compilePattern(pattern: string): (relPath: string, isDir: boolean) => boolean {
  let p = pattern.trim();
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  const anchored = p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
      if (p[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(anchored ? `^${re}$` : `(^|/)${re}$`);
  return (relPath, isDir) => (!dirOnly || isDir) && regex.test(relPath);
}

/** A filter for the app walk: true when the entry goes into the build. `.git` never does. */
export function makeSourceFilter(project: ProjectDescriptor): (relPath: string, isDir: boolean) => boolean {
  const excludes = project.exclude.map(compilePattern);
  const includes = project.include.map(compilePattern);
  return (relPath, isDir) => {
    if (relPath === '.git' || relPath.startsWith('.git/')) return false;
    if (excludes.some((m) => m(relPath, isDir))) return false;
    if (includes.length > 0 && !isDir) return includes.some((m) => m(relPath, isDir));
    return true;
  };
}
