/**
 * Service bindings in the buildpack (buildpack/lib/bindings.sh), under dash and under busybox sh
 * with a busybox-only PATH: a netrc binding points go at its file (NETRC), a git-credentials
 * binding becomes a git credential helper for the build only (proved with the real `git
 * credential fill`, no git server needed), and the log names bindings and types, never contents.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildpackDir, busyboxPath, Shell, useFixtures } from './sandbox';

jest.setTimeout(120_000);

const shells: Shell[] = ['sh', 'busybox'];
const PASSWORD = 'pw-Zq81-never-logged';
const TOKEN = 'tok-Hh27-never-logged';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'gobuild-cnb-bindings-'));
  mkdirSync(join(root, 'platform', 'bindings'), { recursive: true });
  mkdirSync(join(root, 'scratch'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function binding(name: string, files: Record<string, string>, under = join(root, 'platform', 'bindings')): string {
  const dir = join(under, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content, { mode: 0o600 });
  return dir;
}

/** Runs use_bindings, then prints NETRC and the git config entries it added, NUL-separated. */
function useBindings(shell: Shell, env: Record<string, string> = {}) {
  const script =
    `. "${buildpackDir}/lib/common.sh"; . "${buildpackDir}/lib/bindings.sh"; use_bindings "$1"; ` +
    'printf "\\0VARS\\0NETRC=%s\\0" "${NETRC:-}"; i=0; while [ "$i" -lt "${GIT_CONFIG_COUNT:-0}" ]; do ' +
    'eval "printf \'%s=%s\\0\' \\"\\$GIT_CONFIG_KEY_$i\\" \\"\\$GIT_CONFIG_VALUE_$i\\""; i=$((i + 1)); done';
  const args = ['-c', script, 'lib', join(root, 'scratch')];
  const [command, argv] = shell === 'busybox' ? ['busybox', ['sh', ...args]] : ['sh', args];
  const path = shell === 'busybox' ? busyboxPath([]) : (process.env.PATH ?? '');
  const result = spawnSync(command, argv, { encoding: 'utf8', env: { PATH: path, CNB_PLATFORM_DIR: join(root, 'platform'), ...env } });
  const [log, vars = ''] = result.stdout.split('\0VARS\0');
  const pairs = vars.split('\0').filter(Boolean);
  const netrc = pairs.find((p) => p.startsWith('NETRC='))?.slice('NETRC='.length) ?? '';
  const gitConfig = pairs.filter((p) => !p.startsWith('NETRC='));
  return { code: result.status, log, stderr: result.stderr, netrc, gitConfig };
}

/** What the real git answers for a URL with these config entries (and nothing else configured). */
function gitCredentialFill(gitConfig: string[], url: string): string {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: String(gitConfig.length),
  };
  gitConfig.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    env[`GIT_CONFIG_KEY_${i}`] = entry.slice(0, eq);
    env[`GIT_CONFIG_VALUE_${i}`] = entry.slice(eq + 1);
  });
  const u = new URL(url);
  const result = spawnSync('git', ['credential', 'fill'], {
    input: `protocol=${u.protocol.replace(':', '')}\nhost=${u.host}\npath=${u.pathname.slice(1)}\n\n`,
    encoding: 'utf8',
    env,
  });
  return result.stdout;
}

describe.each(shells)('bindings under %s', (shell) => {
  test('a netrc binding points NETRC at its file; the log names it, never its content', () => {
    const dir = binding('corp-proxy', { type: 'netrc\n', '.netrc': `machine goproxy.corp.example login me password ${PASSWORD}\n` });
    const result = useBindings(shell);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.netrc).toBe(join(dir, '.netrc'));
    expect(result.log).toContain('Binding(s) corp-proxy (netrc): NETRC for go');
    expect(result.log + result.stderr).not.toContain(PASSWORD);
  });

  test('a file named netrc (no dot) works too, and SERVICE_BINDING_ROOT wins over the platform dir', () => {
    const elsewhere = join(root, 'elsewhere');
    const dir = binding('n', { type: 'netrc', netrc: `machine a.example login x password ${PASSWORD}\n` }, elsewhere);
    binding('ignored', { type: 'netrc', '.netrc': 'machine b.example login y password z\n' });
    const result = useBindings(shell, { SERVICE_BINDING_ROOT: elsewhere });
    expect(result.code).toBe(0);
    expect(result.netrc).toBe(join(dir, 'netrc'));
  });

  test('several netrc bindings are merged, in name order, into one file in the scratch dir', () => {
    binding('a', { type: 'netrc', '.netrc': 'machine a.example login a password pa\n' });
    binding('b', { type: 'netrc', '.netrc': 'machine b.example login b password pb' });
    const result = useBindings(shell);
    expect(result.code).toBe(0);
    expect(result.netrc).toBe(join(root, 'scratch', 'netrc'));
    expect(readFileSync(result.netrc, 'utf8')).toMatch(/machine a\.example login a password pa\n[\s\S]*machine b\.example login b password pb/);
    expect(result.log).toContain('Binding(s) a, b (netrc): NETRC for go');
  });

  test("the user's own NETRC wins, with a warning", () => {
    binding('n', { type: 'netrc', '.netrc': 'machine a.example login a password pa\n' });
    const result = useBindings(shell, { NETRC: '/my/netrc' });
    expect(result.netrc).toBe('/my/netrc');
    expect(result.stderr).toContain('NETRC is set in the build env, so the netrc binding(s) n are not used');
  });

  test("a git-credentials binding (git's key=value lines, with a context) answers git for that context only", () => {
    binding('git', { type: 'git-credentials', credentials: `username=me\npassword=${TOKEN}\n`, context: 'https://git.corp.example\n' });
    const result = useBindings(shell);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.netrc).toBe('');
    expect(result.gitConfig).toHaveLength(1);
    expect(result.gitConfig[0]).toMatch(/^credential\.https:\/\/git\.corp\.example\.helper=!f\(\)/);
    expect(result.log).toContain('Binding git (git-credentials): git credential helper for this build (https://git.corp.example)');
    expect(result.log).not.toContain(TOKEN);
    expect(gitCredentialFill(result.gitConfig, 'https://git.corp.example/team/lib.git')).toContain(`password=${TOKEN}`);
    expect(gitCredentialFill(result.gitConfig, 'https://other.example/x.git')).not.toContain(TOKEN);
  });

  test('a git-credentials binding of git-credential-store lines uses git\'s store helper, after the user\'s own git config', () => {
    binding('store', { type: 'git-credentials', credentials: `https://me:${TOKEN}@git.corp.example\n` });
    const result = useBindings(shell, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.name', GIT_CONFIG_VALUE_0: 'someone' });
    expect(result.code).toBe(0);
    expect(result.gitConfig).toEqual(['user.name=someone', `credential.helper=store --file='${join(root, 'platform', 'bindings', 'store', 'credentials')}'`]);
    expect(gitCredentialFill(result.gitConfig, 'https://git.corp.example/team/lib.git')).toContain(`password=${TOKEN}`);
    expect(result.log).not.toContain(TOKEN);
  });

  test('a binding of another type is named and left alone; one without a type file is warned about', () => {
    binding('db', { type: 'postgresql', password: PASSWORD });
    binding('untyped', { password: PASSWORD });
    const result = useBindings(shell);
    expect(result.code).toBe(0);
    expect(result.log).toContain('Binding db (type postgresql): not a type this buildpack uses (netrc, git-credentials)');
    expect(result.stderr).toContain('binding untyped has no type file: not used');
    expect(result.netrc).toBe('');
    expect(result.gitConfig).toEqual([]);
    expect(result.log + result.stderr).not.toContain(PASSWORD);
  });

  test('a netrc binding without its file fails the build, naming it', () => {
    binding('broken', { type: 'netrc' });
    const result = useBindings(shell);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: binding broken (type netrc) has no .netrc or netrc file');
  });

  test('no bindings dir: nothing is set', () => {
    rmSync(join(root, 'platform', 'bindings'), { recursive: true });
    const result = useBindings(shell);
    expect(result).toMatchObject({ code: 0, netrc: '', gitConfig: [], stderr: '' });
  });
});

describe('bin/build with a binding', () => {
  const fixture = useFixtures();
  test.each(shells)('under %s, logs the binding it used and builds; the secret is in no layer', (shell) => {
    const sandbox = fixture('hello');
    binding('netrc', { type: 'netrc', '.netrc': `machine goproxy.corp.example login me password ${PASSWORD}\n` }, join(sandbox.platform, 'bindings'));
    const result = sandbox.build({}, shell);
    if (result.code !== 0) throw new Error(result.output);
    expect(result.stdout).toContain('Binding(s) netrc (netrc): NETRC for go');
    expect(result.output).not.toContain(PASSWORD);
    const grep = spawnSync('grep', ['-rlF', PASSWORD, sandbox.layers, sandbox.app], { encoding: 'utf8' });
    expect(grep.stdout).toBe('');
  });
});
