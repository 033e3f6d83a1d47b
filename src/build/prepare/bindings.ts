/**
 * Service bindings (issue #11 part 2): credentials for the build, given the way the CNB ecosystem
 * gives them (the Service Binding spec pack implements with `--volume`): one folder per binding
 * under /platform/bindings, a `type` file plus secret files. pack bind-mounts them; we have no bind
 * mounts (the engine may be remote), so each binding is read here, checked, and copied in with the
 * other inputs: owned by the build user, mode 0700/0600, never under /workspace or the layers dir
 * (the cache volume). `--netrc <file>` is a binding of type `netrc` made from one file. Every
 * secret value of a binding is handed to the redactor. Pure except for reading the files it is
 * pointed at. See docs/networks.md "Private modules".
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, posix, resolve, sep } from 'node:path';
import { UsageError } from '../../errors';

/** Where bindings live in the build container (CNB platform spec: `<platform>/bindings/<name>`). */
export const BINDINGS_DIR = '/platform/bindings';

/** Limits that no real credential file comes near: a bigger one is a mistake (a wrong dir). */
export const MAX_BINDING_FILE_BYTES = 1024 * 1024;
export const MAX_BINDING_FILES = 64;

/** Binding names: a folder name (the spec asks for `[a-z0-9\-\.]{1,253}`; we also take capitals and _). */
const BINDING_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

export interface BindingFile {
  name: string;
  content: Buffer;
}

export interface Binding {
  name: string;
  /** The `type` file's content, trimmed (e.g. `netrc`, `git-credentials`). */
  type: string;
  files: readonly BindingFile[];
  /** Where it came from, for --verbose and messages. */
  source: string;
}

export interface BindingFlags {
  /** `--volume <host-dir>:/platform/bindings[/<name>][:ro]`, repeatable (pack's syntax). */
  volumes: readonly string[];
  /** `--netrc <file>`, repeatable: a binding of type netrc each. */
  netrcFiles: readonly string[];
}

const VOLUME_HINT =
  'Give --volume <host-dir>:/platform/bindings/<name> (one binding: a folder with a `type` file and the secret files) ' +
  'or --volume <host-dir>:/platform/bindings (a folder of such folders), optionally with :ro. See docs/networks.md "Private modules".';

function fileError(what: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return `${what}: no such file or directory`;
  if (code === 'EACCES' || code === 'EPERM') return `${what}: permission denied (${code})`;
  return `${what}: ${code ?? (err as Error).message}`;
}

/** `<host>:<target>[:<mode>]`, split from the right so a host path may hold a colon. */
export function parseVolumeSpec(spec: string): { hostPath: string; target: string; mode?: string } {
  const m = /^(.+):(\/[^:]*)(?::([^:/]*))?$/.exec(spec);
  if (!m) {
    throw new UsageError(`--volume ${JSON.stringify(spec)} is not <host-dir>:<target>[:ro]`, { hint: VOLUME_HINT });
  }
  return { hostPath: m[1], target: m[2], mode: m[3] };
}

/** A host file's content, after the checks every binding file gets: a regular file, readable, not huge. */
function readSecretFile(path: string, what: string, stat: Stats): Buffer {
  if (!stat.isFile()) {
    throw new UsageError(`${what} is not a regular file`, { hint: 'A binding holds plain files only (a `type` file and the secret files).' });
  }
  if (stat.size > MAX_BINDING_FILE_BYTES) {
    throw new UsageError(`${what} is ${stat.size} bytes, more than a credential file has (limit ${MAX_BINDING_FILE_BYTES})`, {
      hint: 'Point the binding at the folder of its credential files only.',
    });
  }
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${fileError(what, err)}`, { hint: 'Make the file readable by you (chmod u+r), then build again.' });
  }
}

/**
 * One binding folder on the host, read whole. Its entries must be plain files, or symbolic links to
 * plain files inside the folder (Kubernetes mounts secrets that way, through a `..data` folder,
 * which is skipped like every entry starting with `..`); a link that leaves the folder is refused:
 * it could send any file of this machine to the build.
 */
export function readBindingDir(name: string, hostDir: string, source: string): Binding {
  if (!BINDING_NAME.test(name)) {
    throw new UsageError(`${source}: the binding name ${JSON.stringify(name)} is not valid`, {
      hint: 'A binding name is a folder name of letters, digits, ., _ and - (not starting with . or -), e.g. /platform/bindings/my-netrc.',
    });
  }
  let stat: Stats;
  try {
    stat = statSync(hostDir);
  } catch (err) {
    throw new UsageError(`${source}: ${fileError(hostDir, err)}`, { hint: VOLUME_HINT });
  }
  if (!stat.isDirectory()) {
    throw new UsageError(`${source}: ${hostDir} is not a directory`, {
      hint: 'A binding is a folder holding a `type` file and the secret files; for a single .netrc file use --netrc <file>.',
    });
  }
  let root: string;
  let names: string[];
  try {
    root = realpathSync(hostDir);
    names = readdirSync(hostDir).sort();
  } catch (err) {
    throw new UsageError(`${source}: cannot read ${fileError(hostDir, err)}`, { hint: 'Make the folder readable by you (chmod u+rx), then build again.' });
  }
  const files: BindingFile[] = [];
  for (const entry of names) {
    if (entry.startsWith('..')) continue;
    const path = `${hostDir}/${entry}`;
    const what = `${source}: ${path}`;
    let entryStat: Stats;
    try {
      entryStat = lstatSync(path);
      if (entryStat.isSymbolicLink()) {
        const target = realpathSync(path);
        if (!target.startsWith(`${root}${sep}`)) {
          throw new UsageError(`${what} is a symbolic link to ${target}, outside the binding folder`, {
            hint: 'Copy the file into the binding folder instead of linking to it: only the folder itself goes to the build.',
          });
        }
        entryStat = statSync(path);
      }
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`${fileError(what, err)}`, { hint: 'A link in a binding must point at a file inside the binding folder.' });
    }
    if (entryStat.isDirectory()) {
      throw new UsageError(`${what} is a directory; a binding holds files only`, {
        hint: 'Put each binding in its own folder (--volume <dir>:/platform/bindings/<name>), its files directly inside.',
      });
    }
    files.push({ name: entry, content: readSecretFile(path, what, entryStat) });
    if (files.length > MAX_BINDING_FILES) {
      throw new UsageError(`${source}: ${hostDir} has more than ${MAX_BINDING_FILES} files, more than a binding has`, {
        hint: 'Point the binding at the folder of its credential files only.',
      });
    }
  }
  const typeFile = files.find((f) => f.name === 'type');
  const type = typeFile?.content.toString('utf8').trim() ?? '';
  if (!typeFile || type === '') {
    throw new UsageError(`${source}: ${hostDir} has no \`type\` file${typeFile ? ' (it is empty)' : ''}`, {
      hint: `Write the binding's type into ${hostDir}/type, e.g. \`echo netrc > ${hostDir}/type\` (with a .netrc file beside it) or git-credentials (with a credentials file).`,
    });
  }
  const binding: Binding = { name, type, files, source };
  checkBindingContent(binding, hostDir);
  return binding;
}

/** The netrc file of a netrc binding: `.netrc`, else `netrc`. */
export function netrcFileOf(binding: Pick<Binding, 'files'>): BindingFile | undefined {
  return binding.files.find((f) => f.name === '.netrc') ?? binding.files.find((f) => f.name === 'netrc');
}

/** A netrc's tokens, as Go's parser reads them (blank-separated; `macdef` blocks skipped). */
function netrcTokens(text: string): string[] {
  const tokens: string[] = [];
  let inMacro = false;
  for (const line of text.split(/\r?\n/)) {
    const words = line.split(/\s+/).filter(Boolean);
    if (inMacro) {
      // A macro runs to the next empty line.
      inMacro = words.length > 0;
      continue;
    }
    const macdef = words.indexOf('macdef');
    tokens.push(...(macdef === -1 ? words : words.slice(0, macdef)));
    inMacro = macdef !== -1;
  }
  return tokens;
}

/** The types this buildpack uses get their files checked up front: a binding that would do nothing is an error. */
function checkBindingContent(binding: Binding, where: string): void {
  if (binding.type === 'netrc') {
    const netrc = netrcFileOf(binding);
    if (!netrc) {
      throw new UsageError(`${binding.source}: the netrc binding ${where} has no .netrc (or netrc) file`, {
        hint: `Copy your netrc file into ${where}/.netrc (lines like: machine goproxy.example.com login me password <token>).`,
      });
    }
    checkNetrc(netrc.content, `${binding.source}: ${where}/${netrc.name}`);
  } else if (binding.type === 'git-credentials') {
    const credentials = binding.files.find((f) => f.name === 'credentials');
    if (!credentials || credentials.content.toString('utf8').trim() === '') {
      throw new UsageError(`${binding.source}: the git-credentials binding ${where} has no credentials (or it is empty)`, {
        hint:
          `Write ${where}/credentials: either git's credential lines (protocol=https, host=git.example.com, username=me, password=<token>), ` +
          'optionally with a `context` file (https://git.example.com), or git-credential-store lines (https://me:<token>@git.example.com).',
      });
    }
  }
}

function checkNetrc(content: Buffer, what: string): void {
  const tokens = netrcTokens(content.toString('utf8'));
  if (!tokens.includes('machine') && !tokens.includes('default')) {
    throw new UsageError(`${what} has no \`machine\` entry`, {
      hint: 'A netrc file has lines like: machine goproxy.example.com login me password <token>. With a port in GOPROXY, the machine must name it too: machine goproxy.example.com:8443.',
    });
  }
}

/** A binding of type netrc from one file (`--netrc`). */
export function netrcBinding(name: string, file: string, given: string): Binding {
  const what = `--netrc ${given}`;
  let stat: Stats;
  try {
    stat = statSync(file);
  } catch (err) {
    throw new UsageError(fileError(what, err), { hint: 'Give the path of a netrc file (e.g. --netrc ~/.netrc); it is never read unless you ask.' });
  }
  if (stat.isDirectory()) {
    throw new UsageError(`${what} is a directory`, { hint: 'Give the netrc file itself; for a binding folder use --volume <dir>:/platform/bindings/<name>.' });
  }
  const content = readSecretFile(file, what, stat);
  checkNetrc(content, what);
  return { name, type: 'netrc', files: [{ name: 'type', content: Buffer.from('netrc\n') }, { name: '.netrc', content }], source: what };
}

/** Every binding of `--volume` and `--netrc`, read and checked; names are unique. */
export function resolveBindings(flags: BindingFlags, cwd: string): Binding[] {
  const bindings: Binding[] = [];
  const add = (binding: Binding): void => {
    const clash = bindings.find((b) => b.name === binding.name);
    if (clash) {
      throw new UsageError(`two bindings are named ${binding.name} (${clash.source} and ${binding.source})`, {
        hint: 'Give each binding its own name: --volume <dir>:/platform/bindings/<another-name>.',
      });
    }
    bindings.push(binding);
  };
  for (const spec of flags.volumes) {
    const { hostPath, target, mode } = parseVolumeSpec(spec);
    const source = `--volume ${spec}`;
    if (mode !== undefined && mode !== 'ro') {
      throw new UsageError(`${source}: the mode ${JSON.stringify(mode)} is not supported`, {
        hint: 'Bindings are copied into the build container read-only (nothing comes back to your folder): leave the mode out, or write :ro.',
      });
    }
    const normal = posix.normalize(target).replace(/\/+$/, '');
    const hostDir = isAbsolute(hostPath) ? hostPath : resolve(cwd, hostPath);
    if (normal === BINDINGS_DIR) {
      // A folder of bindings: each folder in it is one.
      let names: string[];
      try {
        if (!statSync(hostDir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        names = readdirSync(hostDir).sort();
      } catch (err) {
        throw new UsageError(`${source}: ${fileError(hostDir, err)}`, { hint: VOLUME_HINT });
      }
      const dirs = names.filter((n) => !n.startsWith('.'));
      if (dirs.length === 0) throw new UsageError(`${source}: ${hostDir} holds no binding folder`, { hint: VOLUME_HINT });
      for (const name of dirs) add(readBindingDir(name, `${hostDir}/${name}`, source));
    } else if (normal.startsWith(`${BINDINGS_DIR}/`) && !normal.slice(BINDINGS_DIR.length + 1).includes('/')) {
      add(readBindingDir(normal.slice(BINDINGS_DIR.length + 1), hostDir, source));
    } else {
      throw new UsageError(`${source}: only bindings can be given, under ${BINDINGS_DIR} (not ${target})`, {
        hint: `gobuild-cnb has no bind mounts (the Docker engine may be remote): it copies bindings in. ${VOLUME_HINT}`,
      });
    }
  }
  flags.netrcFiles.forEach((file, i) => {
    let name = i === 0 ? 'netrc' : `netrc-${i + 1}`;
    for (let n = 2; bindings.some((b) => b.name === name); n++) name = `netrc-${n}`;
    add(netrcBinding(name, isAbsolute(file) ? file : resolve(cwd, file), file));
  });
  return bindings;
}

/** `password` and `account` values of a netrc (Go's parser: blank-separated tokens). */
export function netrcSecrets(text: string): string[] {
  const tokens = netrcTokens(text);
  const secrets: string[] = [];
  tokens.forEach((token, i) => {
    if ((token === 'password' || token === 'account') && i + 1 < tokens.length) secrets.push(tokens[i + 1]);
  });
  return secrets;
}

/** The secrets of a git-credentials file: `password=` values, and whole `scheme://user:pass@host` lines. */
export function gitCredentialSecrets(text: string): string[] {
  return text.split(/\r?\n/).flatMap((line) => {
    const value = /^\s*password\s*=(.*)$/.exec(line)?.[1];
    if (value !== undefined) return [value.trim()];
    const userinfo = /^\s*[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^@/\s]+)@/.exec(line)?.[1];
    if (userinfo) return [line.trim(), userinfo, ...userinfo.split(':').slice(1)];
    return [];
  });
}

/**
 * What the redactor hides for each binding: netrc passwords, git credentials, and for any other
 * type every line of every file but `type` and `provider` (we cannot tell which part is secret).
 */
export function bindingSecrets(bindings: readonly Binding[]): Array<{ name: string; value: string }> {
  return bindings.flatMap((b) => {
    const name = `binding ${b.name}`;
    const values = b.files.flatMap((f): string[] => {
      const text = f.content.toString('utf8');
      if (f.name === 'type' || f.name === 'provider') return [];
      if (b.type === 'netrc' && (f.name === '.netrc' || f.name === 'netrc')) return netrcSecrets(text);
      if (b.type === 'git-credentials' && f.name === 'context') return [];
      if (b.type === 'git-credentials' && f.name === 'credentials') return gitCredentialSecrets(text);
      return text.split(/\r?\n/).map((line) => line.trim());
    });
    return values.filter((v) => v !== '').map((value) => ({ name, value }));
  });
}
