/**
 * Real networks (issue #11 part 1): a module proxy over HTTPS whose certificate a test CA signed,
 * and an HTTP proxy that records what passed through it, both real servers on 127.0.0.1 (the
 * build container shares the host's network with --network host, so nothing leaves the machine).
 * The build trusts the CA only when the host does or --ca-certs names it, goes through the proxy
 * of the environment or the docker config, and keeps neither in the image or the cache volume.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { testdir, type TestDir } from '../helpers/testdir';
import { buildContainersLeft, docker, REPO_ROOT, removeImage, runCli, TEST_BUILDER } from '../helpers/cli';
import { expectNothingLeft, imageBytes, listenOnLoopback, privateTmp, type PrivateTmp } from '../helpers/hostile';
import { startRegistry, type LocalRegistry } from '../helpers/registry';
import { makeTestCa, serveGoModule } from '../helpers/module-proxy';

const VOLUME = 'gobuild-cnb-test-network';
const TAG = 'gobuild-cnb-test/network:it';

describeWithDocker('builds on real networks: custom CAs and proxies', () => {
  jest.setTimeout(600_000);
  let work: TestDir;
  let tmp: PrivateTmp;
  let caFile: string;
  let caMarker: string;
  let tlsServer: https.Server;
  let tlsPort: number;
  let proxyServer: http.Server;
  let proxyPort: number;
  const proxied: string[] = [];

  const build = (extra: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(
      ['build', join(REPO_ROOT, 'fixtures', 'proxied'), '-t', TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--network', 'host',
        '--cache-volume', VOLUME, '--clear-cache', '-e', 'GOSUMDB=off', '-e', 'GOFLAGS=-mod=mod', ...extra],
      // The runner's own trust settings must not decide the outcome: each case sets its own.
      { env: { ...tmp.env, SSL_CERT_FILE: '/nonexistent', SSL_CERT_DIR: '', HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '', ...env } },
    );
  const runImage = (): string => docker(['run', '--rm', TAG]);

  beforeAll(async () => {
    work = testdir({});
    tmp = privateTmp();
    // A CA made here, and a server certificate for 127.0.0.1 that it signed.
    const ca = makeTestCa(work.path, 'gobuild-cnb network test CA');
    caFile = ca.caFile;
    caMarker = readFileSync(caFile, 'utf8').split('\n')[5];
    tlsServer = https.createServer({ key: ca.serverKey, cert: ca.serverCert }, (req, res) => serveGoModule(req.url ?? '/', res));
    tlsPort = await listenOnLoopback(tlsServer);
    // A forward proxy for plain HTTP: it answers module requests for any host itself and records them.
    proxyServer = http.createServer((req, res) => {
      proxied.push(`${req.method} ${req.url}`);
      serveGoModule(new URL(req.url ?? '/', 'http://unused').pathname, res);
    });
    proxyPort = await listenOnLoopback(proxyServer);
  });
  afterAll(async () => {
    await new Promise((r) => tlsServer.close(r));
    await new Promise((r) => proxyServer.close(r));
    removeImage(TAG);
    try {
      docker(['volume', 'rm', '-f', VOLUME]);
    } catch {
      // already gone
    }
    work.cleanup();
    tmp.cleanup();
  });
  afterEach(() => {
    expect(buildContainersLeft(undefined, VOLUME)).toEqual([]);
    expectNothingLeft({ tmp, volumePrefix: VOLUME, allowedVolumes: [VOLUME] });
  });

  it('fails with a TLS trust error naming the host and --ca-certs when nothing trusts the CA', async () => {
    const result = await build(['--no-host-ca-certs', '-e', `GOPROXY=https://127.0.0.1:${tlsPort}`]);
    expect(result.stderr).toMatch(/certificate/i);
    expect(result.stderr).toMatch(/hint: .*--ca-certs/);
    expect(result.code).toBe(54);
  });

  it('trusts a CA given with --ca-certs, for the build only', async () => {
    const result = await build(['--no-host-ca-certs', '--ca-certs', caFile, '-e', `GOPROXY=https://127.0.0.1:${tlsPort}`]);
    expect(result.stderr).toBe(result.code === 0 ? result.stderr : '');
    expect(result.code).toBe(0);
    expect(runImage()).toBe('quote v1.0.0 from the file proxy');
    // Not in any layer, label or the config's env; not in the cache volume either.
    expect(imageBytes(TAG).includes(Buffer.from(caMarker))).toBe(false);
    expect(docker(['inspect', '--format', '{{json .Config.Env}}', TAG])).not.toMatch(/SSL_CERT|GIT_SSL/);
    const inVolume = docker(['run', '--rm', '--entrypoint', '/bin/sh', '-v', `${VOLUME}:/cache`, TEST_BUILDER, '-c', `grep -rlF '${caMarker}' /cache || true`]);
    expect(inVolume).toBe('');
  });

  it('trusts what the host trusts (SSL_CERT_FILE) with no flag', async () => {
    const hostBundle = join(work.path, 'host-bundle.pem');
    writeFileSync(hostBundle, readFileSync(caFile));
    const result = await build(['-e', `GOPROXY=https://127.0.0.1:${tlsPort}`, '--verbose'], { SSL_CERT_FILE: hostBundle });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(hostBundle);
    expect(runImage()).toBe('quote v1.0.0 from the file proxy');
  });

  it("goes through the environment's HTTP proxy, which never reaches the image", async () => {
    proxied.length = 0;
    const proxy = `http://127.0.0.1:${proxyPort}`;
    const result = await build(['-e', 'GOPROXY=http://goproxy.gobuild-cnb.test'], { HTTP_PROXY: proxy });
    expect(result.code).toBe(0);
    expect(proxied).toContain('GET http://goproxy.gobuild-cnb.test/example.com/quote/@v/v1.0.0.zip');
    expect(runImage()).toBe('quote v1.0.0 from the file proxy');
    expect(imageBytes(TAG).includes(Buffer.from(`127.0.0.1:${proxyPort}`))).toBe(false);
  });

  it("goes through the docker config's proxies", async () => {
    proxied.length = 0;
    const configDir = join(work.path, 'docker-config');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ proxies: { default: { httpProxy: `http://127.0.0.1:${proxyPort}` } } }));
    const result = await build(['-e', 'GOPROXY=http://goproxy.gobuild-cnb.test'], { DOCKER_CONFIG: configDir });
    expect(result.code).toBe(0);
    expect(proxied.some((line) => line.startsWith('GET http://goproxy.gobuild-cnb.test/'))).toBe(true);
  });

  it('refuses a --ca-certs file without a certificate before building', async () => {
    const notPem = join(work.path, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    const result = await build(['--ca-certs', notPem]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not\.pem: no PEM certificate/);
    expect(result.stderr).toMatch(/hint: /);
  });
});

describeWithDocker("the CLI's own registry traffic goes through the environment's proxy", () => {
  jest.setTimeout(300_000);
  let registry: LocalRegistry;
  let proxy: http.Server;
  let proxyPort: number;
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const REGISTRY_NAME = 'registry.gobuild-cnb.test';
  const volume = 'gobuild-cnb-test-network-publish';

  beforeAll(async () => {
    registry = await startRegistry();
    const registryPort = Number(registry.host.split(':')[1]);
    // A forward proxy that knows REGISTRY_NAME as the local registry: the CLI never resolves the name itself.
    proxy = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const target = new URL(req.url ?? '/');
      if (target.hostname !== REGISTRY_NAME) {
        res.writeHead(502).end();
        return;
      }
      const upstream = http.request({ host: '127.0.0.1', port: registryPort, method: req.method, path: `${target.pathname}${target.search}`, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      seen.push(`CONNECT ${req.url}`);
      sockets.add(client);
      // The registry speaks plain HTTP: the TLS attempt through the tunnel fails and the client
      // falls back to HTTP (--insecure-registry), as it does without a proxy.
      const upstream = net.connect(registryPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    proxyPort = await listenOnLoopback(proxy);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
    await registry.stop();
    try {
      docker(['volume', 'rm', '-f', volume]);
    } catch {
      // already gone
    }
  });

  it('pushes through HTTPS_PROXY/HTTP_PROXY to a registry only the proxy can reach', async () => {
    const registryPort = registry.host.split(':')[1];
    const tag = `${REGISTRY_NAME}:${registryPort}/network/app:it`;
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const result = await runCli(
      ['build', join(REPO_ROOT, 'fixtures', 'hello'), '-t', tag, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', volume,
        '--publish', '--insecure-registry', `${REGISTRY_NAME}:${registryPort}`],
      { env: { HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl, NO_PROXY: '' } },
    );
    expect(result.stderr).toBe(result.code === 0 ? result.stderr : '');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(new RegExp(`^${REGISTRY_NAME}:${registryPort}/network/app@sha256:[0-9a-f]{64}$`));
    expect(seen.some((line) => line.startsWith(`PUT http://${REGISTRY_NAME}:${registryPort}/v2/network/app/manifests/it`))).toBe(true);
    // The registry has it: asked directly, with no proxy.
    const manifest = await fetch(`http://${registry.host}/v2/network/app/manifests/it`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(manifest.status).toBe(200);
    expect(buildContainersLeft(undefined, volume)).toEqual([]);
  });
});
