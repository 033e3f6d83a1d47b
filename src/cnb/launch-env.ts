/**
 * The launch environment of an image built without a launcher: what the CNB launcher would
 * compute at start-up, computed once at export and written into the image config instead.
 * Rules: spec buildpack.md "Environment Variable Modification Rules" (see cnb-spec.md section 2).
 */
export interface LaunchLayerEnv {
  /** Path of the layer in the image, e.g. /layers/gobuild-cnb_go/targets. */
  imagePath: string;
  hasBin: boolean;
  hasLib: boolean;
  /** Files of env/ and env.launch/ (in that order of application), name = file name. */
  envFiles: Array<{ name: string; content: string }>;
}

export type EnvMap = Map<string, string>;

export function envListToMap(list: readonly string[]): EnvMap {
  const map: EnvMap = new Map();
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq > 0) map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}

export function envMapToList(map: EnvMap): string[] {
  return [...map.entries()].map(([k, v]) => `${k}=${v}`);
}

function prependPath(env: EnvMap, name: string, dir: string): void {
  const old = env.get(name);
  env.set(name, old ? `${dir}:${old}` : dir);
}

/** Apply one env directory's files (suffix rules; no .delim file means no delimiter). */
export function applyEnvFiles(env: EnvMap, files: LaunchLayerEnv['envFiles']): void {
  const delims = new Map<string, string>();
  for (const f of files) {
    if (f.name.endsWith('.delim')) delims.set(f.name.slice(0, -'.delim'.length), f.content);
  }
  const sorted = [...files].filter((f) => !f.name.endsWith('.delim')).sort((a, b) => a.name.localeCompare(b.name));
  for (const f of sorted) {
    const dot = f.name.indexOf('.');
    const name = dot === -1 ? f.name : f.name.slice(0, dot);
    const action = dot === -1 ? 'override' : f.name.slice(dot + 1);
    const delim = delims.get(name) ?? '';
    const old = env.get(name);
    switch (action) {
      case 'override':
        env.set(name, f.content);
        break;
      case 'default':
        if (!old) env.set(name, f.content);
        break;
      case 'prepend':
        env.set(name, old ? `${f.content}${delim}${old}` : f.content);
        break;
      case 'append':
        env.set(name, old ? `${old}${delim}${f.content}` : f.content);
        break;
      default:
        // Unknown suffixes are ignored, as the lifecycle does.
        break;
    }
  }
}

/**
 * Launch env: the run image's env, then each launch layer in order (bin -> PATH, lib ->
 * LD_LIBRARY_PATH, then its env files), then `processDir` prepended to PATH so that
 * `docker run --entrypoint <type>` finds every process.
 */
export function computeLaunchEnv(baseEnv: readonly string[], layers: readonly LaunchLayerEnv[], processDir: string): string[] {
  const env = envListToMap(baseEnv);
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  for (const layer of layers) {
    if (layer.hasBin) prependPath(env, 'PATH', `${layer.imagePath}/bin`);
    if (layer.hasLib) prependPath(env, 'LD_LIBRARY_PATH', `${layer.imagePath}/lib`);
    applyEnvFiles(env, layer.envFiles);
  }
  prependPath(env, 'PATH', processDir);
  return envMapToList(env);
}
