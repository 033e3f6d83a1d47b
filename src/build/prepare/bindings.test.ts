import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindingSecrets, gitCredentialSecrets, netrcSecrets, parseVolumeSpec, resolveBindings, MAX_BINDING_FILE_BYTES } from './bindings';
import { bindingEntries } from './inputs';
import { packEntries } from './input-tar';
import { readTarEntries } from '../../image/read-tar';
import { ExitCode, UsageError } from '../../errors';
import { Redactor } from '../../ui/redact';
import { testdir, type TestDir } from '../../../test/helpers/testdir';

const NETRC = 'machine goproxy.corp.example:8443 login me password s3cret-Token\n';

let dir: TestDir;
beforeEach(() => {
  dir = testdir({
    'bindings/corp/type': 'netrc\n',
    'bindings/corp/.netrc': NETRC,
    'bindings/git/type': 'git-credentials',
    'bindings/git/credentials': 'username=me\npassword=git-Token-42\n',
    'bindings/git/context': 'https://git.corp.example',
    'my.netrc': NETRC,
    'outside-secret': 'host file\n',
  });
});
afterEach(() => dir.cleanup());

/** The usage error resolveBindings throws, as message and hint. */
function refusal(volumes: string[], netrcFiles: string[] = []): { message: string; hint: string } {
  try {
    resolveBindings({ volumes, netrcFiles }, dir.path);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe(ExitCode.Usage);
    return { message: (err as UsageError).message, hint: (err as UsageError).hint };
  }
  throw new Error('resolveBindings accepted it');
}

describe('--volume, in pack syntax', () => {
  it('splits host, target and mode from the right, so a host path may hold a colon', () => {
    expect(parseVolumeSpec('./a:b/c:/platform/bindings/x:ro')).toEqual({ hostPath: './a:b/c', target: '/platform/bindings/x', mode: 'ro' });
    expect(parseVolumeSpec('/d:/platform/bindings/x')).toEqual({ hostPath: '/d', target: '/platform/bindings/x', mode: undefined });
  });

  it('reads one binding folder at /platform/bindings/<name>, relative to the current dir', () => {
    const [corp] = resolveBindings({ volumes: ['bindings/corp:/platform/bindings/corp-proxy:ro'], netrcFiles: [] }, dir.path);
    expect(corp).toMatchObject({ name: 'corp-proxy', type: 'netrc' });
    expect(corp.files.map((f) => f.name)).toEqual(['.netrc', 'type']);
  });

  it('reads every folder of a bindings root at /platform/bindings', () => {
    const bindings = resolveBindings({ volumes: [`${dir.path}/bindings:/platform/bindings`], netrcFiles: [] }, '/');
    expect(bindings.map((b) => `${b.name}:${b.type}`)).toEqual(['corp:netrc', 'git:git-credentials']);
  });

  it.each([
    ['a target outside /platform/bindings', 'bindings/corp:/bindings/corp', /only bindings can be given, under \/platform\/bindings \(not \/bindings\/corp\)/],
    ['a target below a binding', 'bindings/corp:/platform/bindings/a/b', /only bindings can be given/],
    ['a target that climbs out', 'bindings/corp:/platform/bindings/../env', /only bindings can be given/],
    ['the rw mode (nothing is written back)', 'bindings/corp:/platform/bindings/corp:rw', /the mode "rw" is not supported/],
    ['no target', 'bindings/corp', /is not <host-dir>:<target>\[:ro\]/],
    ['a missing folder', 'nope:/platform/bindings/x', /nope: no such file or directory/],
    ['a file instead of a folder', 'my.netrc:/platform/bindings/x', /is not a directory/],
    ['a bad binding name', 'bindings/corp:/platform/bindings/.hidden', /the binding name "\.hidden" is not valid/],
  ])('refuses %s (exit 2, with a hint)', (_what, spec, message) => {
    const error = refusal([spec]);
    expect(error.message).toMatch(message);
    expect(error.hint.length).toBeGreaterThan(20);
  });

  it('refuses a binding without a type file, saying how to write one', () => {
    mkdirSync(join(dir.path, 'untyped'));
    writeFileSync(join(dir.path, 'untyped', '.netrc'), NETRC);
    const error = refusal(['untyped:/platform/bindings/u']);
    expect(error.message).toMatch(/has no `type` file/);
    expect(error.hint).toMatch(/echo netrc > .*untyped\/type/);
  });

  it('refuses a netrc binding without a netrc file, or one with no machine', () => {
    writeFileSync(join(dir.path, 'bindings', 'corp', '.netrc'), '# nothing\n');
    expect(refusal(['bindings/corp:/platform/bindings/c']).message).toMatch(/has no `machine` entry/);
    writeFileSync(join(dir.path, 'bindings', 'git', 'credentials'), '\n');
    expect(refusal(['bindings/git:/platform/bindings/g']).message).toMatch(/git-credentials binding .* has no credentials/);
  });

  it('refuses a symbolic link out of the binding folder, follows one inside it (Kubernetes ..data style)', () => {
    const b = join(dir.path, 'bindings', 'corp');
    symlinkSync(join(dir.path, 'outside-secret'), join(b, 'leak'));
    expect(refusal(['bindings/corp:/platform/bindings/c']).message).toMatch(/leak is a symbolic link to .*outside-secret, outside the binding folder/);
    const k8s = join(dir.path, 'k8s');
    mkdirSync(join(k8s, '..data'), { recursive: true });
    writeFileSync(join(k8s, '..data', 'type'), 'netrc');
    writeFileSync(join(k8s, '..data', '.netrc'), NETRC);
    symlinkSync('..data/type', join(k8s, 'type'));
    symlinkSync('..data/.netrc', join(k8s, '.netrc'));
    const [binding] = resolveBindings({ volumes: ['k8s:/platform/bindings/k'], netrcFiles: [] }, dir.path);
    expect(binding.files.map((f) => [f.name, f.content.toString()])).toEqual([['.netrc', NETRC], ['type', 'netrc']]);
  });

  it('refuses a subfolder, a file too big to be a credential, and an unreadable file', () => {
    const b = join(dir.path, 'bindings', 'corp');
    mkdirSync(join(b, 'sub'));
    expect(refusal(['bindings/corp:/platform/bindings/c']).message).toMatch(/sub is a directory; a binding holds files only/);
    rmSync(join(b, 'sub'), { recursive: true });
    writeFileSync(join(b, 'big'), Buffer.alloc(MAX_BINDING_FILE_BYTES + 1));
    expect(refusal(['bindings/corp:/platform/bindings/c']).message).toMatch(/big is 1048577 bytes, more than a credential file has/);
    writeFileSync(join(b, 'big'), 'small');
    chmodSync(join(b, 'big'), 0o000);
    if (process.getuid?.() !== 0) expect(refusal(['bindings/corp:/platform/bindings/c']).message).toMatch(/cannot read .*big: permission denied/);
  });

  it('refuses two bindings of one name', () => {
    expect(refusal(['bindings/corp:/platform/bindings/x', 'bindings/git:/platform/bindings/x']).message).toMatch(/two bindings are named x/);
  });
});


describe('--netrc', () => {
  it('makes a binding of type netrc named netrc (netrc-2, ... for more), without taking a name already used', () => {
    const bindings = resolveBindings({ volumes: ['bindings/corp:/platform/bindings/netrc'], netrcFiles: ['my.netrc', 'my.netrc'] }, dir.path);
    expect(bindings.map((b) => `${b.name}:${b.type}`)).toEqual(['netrc:netrc', 'netrc-2:netrc', 'netrc-3:netrc']);
    expect(bindings[1].files.find((f) => f.name === '.netrc')?.content.toString()).toBe(NETRC);
  });

  it('refuses a missing file, a directory and a file without a machine, naming the flag', () => {
    expect(refusal([], ['nope']).message).toBe('--netrc nope: no such file or directory');
    expect(refusal([], ['bindings']).message).toBe('--netrc bindings is a directory');
    expect(refusal([], ['outside-secret']).message).toBe('--netrc outside-secret has no `machine` entry');
  });
});

describe('what goes into the container, and what is redacted', () => {
  it('copies each binding to /platform/bindings/<name>/, owned by the build user, 0700 folders and 0600 files', async () => {
    const bindings = resolveBindings({ volumes: ['bindings:/platform/bindings'], netrcFiles: [] }, dir.path);
    const tar = await readTarEntries(packEntries(bindingEntries(bindings, { uid: 1000, gid: 1001 })));
    expect(tar.map((e) => [e.header.name.replace(/\/$/, ''), e.header.mode, e.header.uid, e.header.gid])).toEqual([
      ['platform/bindings', 0o700, 1000, 1001],
      ['platform/bindings/corp', 0o700, 1000, 1001],
      ['platform/bindings/corp/.netrc', 0o600, 1000, 1001],
      ['platform/bindings/corp/type', 0o600, 1000, 1001],
      ['platform/bindings/git', 0o700, 1000, 1001],
      ['platform/bindings/git/context', 0o600, 1000, 1001],
      ['platform/bindings/git/credentials', 0o600, 1000, 1001],
      ['platform/bindings/git/type', 0o600, 1000, 1001],
    ]);
    expect(tar.find((e) => e.header.name === 'platform/bindings/corp/.netrc')?.body?.toString()).toBe(NETRC);
  });

  it('no binding: no /platform/bindings at all', () => {
    expect(bindingEntries([], { uid: 1, gid: 1 })).toEqual([]);
  });

  it('finds the secrets: netrc passwords, git passwords and credential-store URLs, every line of other types', () => {
    expect(netrcSecrets('machine a login u password p1pass\nmachine b login v password p2pass account acct1\n')).toEqual(['p1pass', 'p2pass', 'acct1']);
    expect(netrcSecrets('machine a login u password p1pass\nmacdef init\npassword notthis\n\nmachine b password p2pass')).toEqual(['p1pass', 'p2pass']);
    expect(gitCredentialSecrets('protocol=https\nhost=x\nusername=me\npassword=tok123\n')).toEqual(['tok123']);
    expect(gitCredentialSecrets('https://me:tok456@git.example\n')).toEqual(['https://me:tok456@git.example', 'me:tok456', 'tok456']);
    const redactor = Redactor.forBuildEnv(
      [],
      bindingSecrets([
        ...resolveBindings({ volumes: ['bindings:/platform/bindings'], netrcFiles: [] }, dir.path),
        { name: 'db', type: 'postgresql', source: 'test', files: [{ name: 'type', content: Buffer.from('postgresql') }, { name: 'uri', content: Buffer.from('postgres://u:dbpass@h/db\n') }] },
      ]),
    );
    expect(redactor.redact('Authorization for me password s3cret-Token and git-Token-42 at https://git.corp.example; postgres://u:dbpass@h/db')).toBe(
      'Authorization for me password [redacted:binding corp] and [redacted:binding git] at https://git.corp.example; [redacted:binding db]',
    );
  });
});
