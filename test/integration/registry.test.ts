/**
 * Registry push against a real registry server (Debian's docker-registry on 127.0.0.1, started
 * by test/helpers/registry.ts), with real images: fixtures/hello cross-compiled for amd64 and
 * arm64 into a gzip layer. The push itself needs no Docker; pulling and running what was
 * pushed does (describeWithDocker).
 */
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { MediaType, type Blob, type Digest, type ImageConfig } from '../../src/image/types';
import { RegistryClient, sha256Digest } from '../../src/registry/client';
import { ManifestRejectedError, RegistryAuthError, RegistryUnreachableError } from '../../src/registry/errors';
import { pushImage, pushIndex, type ImageToPush, type PushEvent } from '../../src/registry/push';
import { parseReference } from '../../src/registry/reference';
import { describeWithDocker } from '../helpers/docker';
import { freePort, startRegistry, startTokenServer, type LocalRegistry, type TokenServer } from '../helpers/registry';

const run = promisify(execFile);
jest.setTimeout(180_000);

const VERSION = 'registry-test-1';
const HELLO_FIXTURE = resolve(__dirname, '../../fixtures/hello');

let workDir: string;
let registry: LocalRegistry;
const images: Record<'amd64' | 'arm64', ImageToPush> = {} as never;
const clients: RegistryClient[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-registry-test-'));
  const [started, amd64, arm64] = await Promise.all([startRegistry(), buildHelloImage('amd64'), buildHelloImage('arm64')]);
  registry = started;
  images.amd64 = amd64;
  images.arm64 = arm64;
});

afterAll(async () => {
  for (const client of clients) client.close();
  await registry?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function clientFor(host: string, extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}): RegistryClient {
  // An empty docker config dir: no credentials from the machine running the tests.
  const configDir = mkdtempSync(join(workDir, 'docker-config-'));
  const client = new RegistryClient({ registry: host, credentialOptions: { configDir }, ...extra });
  clients.push(client);
  return client;
}

describe('push to a real registry (docker-registry on 127.0.0.1)', () => {
  it('pushes config, layer and manifest; the registry serves back the same manifest by tag', async () => {
    const client = clientFor(registry.host);
    const events: PushEvent[] = [];
    const result = await pushImage({ client, reference: parseReference(`${registry.host}/test/single:1.0`), ...images.amd64, onProgress: (e) => events.push(e) });

    expect(result.digest).toBe(sha256Digest(images.amd64.manifest.bytes));
    expect(result.pinnedReference).toBe(`${registry.host}/test/single@${result.digest}`);
    expect(result).toMatchObject({ uploaded: 2, skipped: 0, mounted: 0 });
    expect(result.bytesUploaded).toBe(images.amd64.configBlob.descriptor.size + images.amd64.layerBlobs[0].descriptor.size);
    expect(events.filter((e) => e.kind === 'uploaded')).toHaveLength(2);

    const fetched = await client.getManifest('test/single', '1.0');
    expect(fetched?.digest).toBe(result.digest);
    expect(fetched?.mediaType).toBe(MediaType.OciManifest);
    expect(await client.hasBlob('test/single', images.amd64.layerBlobs[0].descriptor.digest)).toBe(true);
    expect(await client.getManifest('test/single', 'no-such-tag')).toBeUndefined();
  });

  it('a second push of the same image uploads no blob and gives the same digest', async () => {
    const reference = parseReference(`${registry.host}/test/twice:latest`);
    const first = await pushImage({ client: clientFor(registry.host), reference, ...images.amd64 });
    const events: PushEvent[] = [];
    const second = await pushImage({ client: clientFor(registry.host), reference, ...images.amd64, onProgress: (e) => events.push(e) });

    expect(second).toMatchObject({ uploaded: 0, skipped: 2, mounted: 0, bytesUploaded: 0, digest: first.digest });
    expect(events.filter((e) => e.kind === 'exists').map((e) => (e as { descriptor: { digest: Digest } }).descriptor.digest).sort()).toEqual(
      [images.amd64.configBlob.descriptor.digest, images.amd64.layerBlobs[0].descriptor.digest].sort(),
    );
  });

  it('mounts blobs from another repository of the registry instead of uploading them', async () => {
    const client = clientFor(registry.host);
    const source = parseReference(`${registry.host}/test/mount-source:1`);
    await pushImage({ client, reference: source, ...images.amd64 });

    const result = await pushImage({ client, reference: parseReference(`${registry.host}/other/mount-target:1`), mountFrom: source, ...images.amd64 });
    expect(result).toMatchObject({ uploaded: 0, skipped: 0, mounted: 2, bytesUploaded: 0 });
    expect(await client.hasBlob('other/mount-target', images.amd64.layerBlobs[0].descriptor.digest)).toBe(true);

    // A blob the source does not have: the mount falls back to an upload in the same session.
    const fresh = await pushImage({ client, reference: parseReference(`${registry.host}/other/mount-fallback:1`), mountFrom: source, ...images.arm64 });
    expect(fresh).toMatchObject({ uploaded: 2, mounted: 0 });
  });

  it('pushes a two-platform image index; each platform manifest is stored by digest', async () => {
    const client = clientFor(registry.host);
    const index = indexFor(['amd64', 'arm64']);
    const result = await pushIndex({ client, reference: parseReference(`${registry.host}/test/multi:1`), images: [images.amd64, images.arm64], index });

    expect(result.digest).toBe(sha256Digest(index.bytes));
    expect(result).toMatchObject({ uploaded: 4, skipped: 0 });
    const fetched = await client.getManifest('test/multi', '1');
    expect(fetched?.mediaType).toBe(MediaType.OciIndex);
    const listed = JSON.parse(fetched!.bytes.toString()) as { manifests: Array<{ digest: Digest; platform: { architecture: string } }> };
    expect(listed.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    for (const entry of listed.manifests) expect((await client.getManifest('test/multi', entry.digest))?.digest).toBe(entry.digest);
  });

  it('a manifest naming blobs the repository lacks is rejected with the registry\'s error code', async () => {
    const client = clientFor(registry.host);
    const put = client.putManifest('test/rejected', '1', images.arm64.manifest.bytes, MediaType.OciManifest);
    await expect(put).rejects.toBeInstanceOf(ManifestRejectedError);
    await expect(put).rejects.toThrow(`registry ${registry.host} rejected the manifest for test/rejected:1: MANIFEST_BLOB_UNKNOWN`);
    await expect(put).rejects.toMatchObject({ status: 400, hint: expect.stringContaining('push every layer and the config before the manifest') });
  });

  it('an unreachable registry is a RegistryUnreachableError naming the host', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const push = pushImage({ client: clientFor(host), reference: parseReference(`${host}/test/app:1`), ...images.amd64 });
    await expect(push).rejects.toBeInstanceOf(RegistryUnreachableError);
    await expect(push).rejects.toThrow(`cannot reach registry ${host} over HTTPS and plain HTTP: connection refused`);
    await expect(push).rejects.toMatchObject({ code: 62, hint: expect.stringContaining('registry is running') });
  });
});

describe('push to a registry with htpasswd auth', () => {
  const auth = { username: 'pusher', password: 'right-password' };
  let secured: LocalRegistry;
  beforeAll(async () => {
    secured = await startRegistry({ auth });
  });
  afterAll(async () => {
    await secured?.stop();
  });

  function configDirWith(config: object): string {
    const dir = mkdtempSync(join(workDir, 'docker-config-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }

  it('without credentials: refused, and the error says none were found', async () => {
    const client = clientFor(secured.host);
    const push = pushImage({ client, reference: parseReference(`${secured.host}/test/app:1`), ...images.amd64 });
    await expect(push).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(push).rejects.toMatchObject({ credentialSource: expect.stringMatching(/^none \(.*config\.json does not exist\)$/) });
    await expect(push).rejects.toMatchObject({ hint: expect.stringContaining(`docker login ${secured.host}`) });
    // the check a build can make before it starts
    await expect(client.checkPushAccess('test/app')).rejects.toBeInstanceOf(RegistryAuthError);
  });

  it('a wrong password from config.json auths: refused, naming that entry', async () => {
    const auths = { [secured.host]: { auth: Buffer.from(`${auth.username}:wrong`).toString('base64') } };
    const client = clientFor(secured.host, { credentialOptions: { configDir: configDirWith({ auths }) } });
    const push = pushImage({ client, reference: parseReference(`${secured.host}/test/app:1`), ...images.amd64 });
    await expect(push).rejects.toThrow(`credentials tried: config.json auths entry "${secured.host}"`);
  });

  it('credentials from a credential helper push the image', async () => {
    const helperDir = mkdtempSync(join(workDir, 'helper-'));
    const helper = join(helperDir, 'docker-credential-testpass');
    writeFileSync(
      helper,
      `#!/bin/sh\nread -r server\n[ "$1" = get ] && [ "$server" = "${secured.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\n` +
        `printf '{"ServerURL":"%s","Username":"${auth.username}","Secret":"${auth.password}"}' "$server"\n`,
      { mode: 0o755 },
    );
    const configDir = configDirWith({ credHelpers: { [secured.host]: 'testpass' } });
    const env = { ...process.env, PATH: `${helperDir}:${process.env.PATH}` };
    const client = clientFor(secured.host, { credentialOptions: { configDir, env } });
    await expect(client.checkPushAccess('test/app')).resolves.toBeUndefined();
    const result = await pushImage({ client, reference: parseReference(`${secured.host}/test/app:1`), ...images.amd64 });
    expect(result.uploaded).toBe(2);
    expect((await client.getManifest('test/app', '1'))?.digest).toBe(result.digest);
  });

  it('a credential helper that is not installed: refused, saying so', async () => {
    const configDir = configDirWith({ credsStore: 'not-installed-here' });
    const client = clientFor(secured.host, { credentialOptions: { configDir } });
    const push = pushImage({ client, reference: parseReference(`${secured.host}/test/app:1`), ...images.amd64 });
    await expect(push).rejects.toThrow(
      'credentials tried: credential helper docker-credential-not-installed-here (credsStore in ' +
        `${configDir}/config.json): docker-credential-not-installed-here is not installed (not found on PATH)`,
    );
  });
});

describe('push to a registry with token auth (Bearer, as Docker Hub and GHCR do)', () => {
  let tokens: TokenServer;
  let secured: LocalRegistry;
  beforeAll(async () => {
    tokens = await startTokenServer({ users: { carol: 'token-user-password' }, refreshTokens: { 'refresh-abc': 'carol' } });
    secured = await startRegistry({ tokenServer: tokens });
  });
  afterAll(async () => {
    await secured?.stop();
    await tokens?.stop();
  });

  function clientWithConfig(config: object): RegistryClient {
    const configDir = mkdtempSync(join(workDir, 'docker-config-'));
    writeFileSync(join(configDir, 'config.json'), JSON.stringify(config));
    return clientFor(secured.host, { credentialOptions: { configDir } });
  }

  it('user and password from config.json get one token, reused for the whole push', async () => {
    const client = clientWithConfig({ auths: { [secured.host]: { auth: Buffer.from('carol:token-user-password').toString('base64') } } });
    tokens.issued.length = 0;
    const result = await pushImage({ client, reference: parseReference(`${secured.host}/team/app:1`), ...images.amd64 });
    expect(result.uploaded).toBe(2);
    expect(tokens.issued).toEqual([{ method: 'GET', account: 'carol', scopes: ['repository:team/app:pull,push'] }]);

    // pull-only calls are served by the same token
    expect((await client.getManifest('team/app', '1'))?.digest).toBe(result.digest);
    expect(tokens.issued).toHaveLength(1);
  });

  it('an identity token (OAuth2 refresh token) is exchanged by POST', async () => {
    const client = clientWithConfig({ auths: { [secured.host]: { identitytoken: 'refresh-abc' } } });
    tokens.issued.length = 0;
    const result = await pushImage({ client, reference: parseReference(`${secured.host}/team/app:2`), ...images.amd64 });
    expect(result).toMatchObject({ uploaded: 0, skipped: 2 });
    expect(tokens.issued).toEqual([{ method: 'POST', account: 'carol', scopes: ['repository:team/app:pull,push'] }]);
  });

  it('mounting across repositories asks one token for both', async () => {
    const client = clientWithConfig({ auths: { [secured.host]: { identitytoken: 'refresh-abc' } } });
    await pushImage({ client, reference: parseReference(`${secured.host}/team/base:1`), ...images.arm64 });
    tokens.issued.length = 0;
    const result = await pushImage({ client, reference: parseReference(`${secured.host}/team/derived:1`), mountFrom: parseReference(`${secured.host}/team/base:1`), ...images.arm64 });
    expect(result).toMatchObject({ mounted: 2, uploaded: 0 });
    expect(tokens.issued.map((t) => t.scopes)).toContainEqual(['repository:team/derived:pull,push', 'repository:team/base:pull']);
  });

  it('anonymous: the token grants nothing, the push is refused naming no credentials', async () => {
    const push = pushImage({ client: clientWithConfig({}), reference: parseReference(`${secured.host}/team/app:3`), ...images.amd64 });
    await expect(push).rejects.toBeInstanceOf(RegistryAuthError);
    await expect(push).rejects.toMatchObject({ host: secured.host, credentialSource: expect.stringMatching(/^none \(no entry for this registry in /) });
  });

  it('a wrong password is refused by the token service, which the error names', async () => {
    const client = clientWithConfig({ auths: { [secured.host]: { auth: Buffer.from('carol:nope').toString('base64') } } });
    const push = pushImage({ client, reference: parseReference(`${secured.host}/team/app:4`), ...images.amd64 });
    const tokenHost = new URL(tokens.realm).host;
    await expect(push).rejects.toThrow(`authentication to ${tokenHost} refused (401) for: get a token for repository:team/app:pull,push from ${tokenHost}`);
    await expect(push).rejects.toMatchObject({ credentialSource: expect.stringContaining('config.json auths entry') });
  });
});

describeWithDocker('docker pulls and runs what was pushed', () => {
  const pulled: string[] = [];
  afterAll(async () => {
    if (pulled.length) await run('docker', ['rmi', '--force', ...pulled]).catch(() => undefined);
  });

  async function pullAndRun(reference: string): Promise<string> {
    await run('docker', ['pull', '--quiet', reference], { timeout: 120_000 });
    pulled.push(reference);
    const { stdout } = await run('docker', ['run', '--rm', reference], { timeout: 60_000 });
    return stdout.trim();
  }

  it('a pushed image pulls by digest and runs', async () => {
    const result = await pushImage({ client: clientFor(registry.host), reference: parseReference(`${registry.host}/test/run:1`), ...images.amd64 });
    expect(await pullAndRun(result.pinnedReference)).toBe(VERSION);
  });

  it('a pushed index pulls the host platform (amd64) by tag and runs', async () => {
    const reference = `${registry.host}/test/run-multi:1`;
    await pushIndex({ client: clientFor(registry.host), reference: parseReference(reference), images: [images.amd64, images.arm64], index: indexFor(['amd64', 'arm64']) });
    expect(await pullAndRun(reference)).toBe(VERSION);
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Architecture}}', reference]);
    expect(stdout.trim()).toBe('amd64');
  });
});

// --- a real image, made here (the image module's builders are another task's) ----------------

function bufferBlob(bytes: Buffer, mediaType: string): Blob {
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length }, open: () => Readable.from([bytes]) };
}

function fileBlob(path: string, bytes: Buffer, mediaType: string): Blob {
  writeFileSync(path, bytes);
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length }, open: () => createReadStream(path) };
}

async function buildHelloImage(architecture: 'amd64' | 'arm64'): Promise<ImageToPush> {
  const binary = join(workDir, `hello-${architecture}`);
  await run('go', ['build', '-trimpath', '-ldflags', `-s -w -X main.version=${VERSION}`, '-o', binary, '.'], {
    cwd: HELLO_FIXTURE,
    env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: architecture, GOPROXY: 'off' },
  });
  const tar = await tarOf([{ name: 'app/', type: 'directory' }, { name: 'app/hello', path: binary }]);
  const layer = fileBlob(join(workDir, `layer-${architecture}.tar.gz`), gzipSync(tar), MediaType.OciLayerGzip);
  const config: ImageConfig = {
    architecture,
    os: 'linux',
    config: { Entrypoint: ['/app/hello', '--version'], WorkingDir: '/app' },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const configBlob = bufferBlob(Buffer.from(JSON.stringify(config)), MediaType.OciConfig);
  const manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: configBlob.descriptor, layers: [layer.descriptor] };
  return { configBlob, layerBlobs: [layer], manifest: { bytes: Buffer.from(JSON.stringify(manifest)), mediaType: MediaType.OciManifest } };
}

function indexFor(architectures: Array<'amd64' | 'arm64'>): { bytes: Buffer; mediaType: string } {
  const manifests = architectures.map((architecture) => ({
    mediaType: images[architecture].manifest.mediaType,
    digest: sha256Digest(images[architecture].manifest.bytes),
    size: images[architecture].manifest.bytes.length,
    platform: { os: 'linux', architecture },
  }));
  const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
  return { bytes: Buffer.from(JSON.stringify(index)), mediaType: MediaType.OciIndex };
}

async function tarOf(entries: Array<{ name: string; type: 'directory' } | { name: string; path: string }>): Promise<Buffer> {
  const archive = tarPack();
  const mtime = new Date('1980-01-01T00:00:01Z');
  for (const entry of entries) {
    if ('type' in entry) archive.entry({ name: entry.name, type: 'directory', mode: 0o755, mtime });
    else archive.entry({ name: entry.name, mode: 0o755, mtime }, await readFile(entry.path));
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
