import { execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxyFor, TunnelingAgent } from './proxy';
import { testdir, type TestDir } from '../../test/helpers/testdir';

describe('proxyFor: the rules of Go net/http, so the build and the CLI agree', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'proxy.corp:8080' };
  const via = (url: string, extra: NodeJS.ProcessEnv = {}) => proxyFor(new URL(url), { ...env, ...extra })?.href;

  it('takes HTTPS_PROXY for https and HTTP_PROXY for http, in either case, adding http:// when missing', () => {
    expect(via('https://registry.example.com/v2/')).toBe('http://proxy.corp:3128/');
    expect(via('http://registry.example.com/v2/')).toBe('http://proxy.corp:8080/');
    expect(proxyFor(new URL('https://x.example/'), {})).toBeUndefined();
  });

  it('never sends loopback or localhost through a proxy', () => {
    expect(via('https://127.0.0.1:5000/v2/')).toBeUndefined();
    expect(via('https://localhost:5000/v2/')).toBeUndefined();
    expect(via('https://[::1]:5000/v2/')).toBeUndefined();
  });

  it('honours NO_PROXY: domains with their subdomains, leading dots and *., ports, IPs, CIDR, and *', () => {
    expect(via('https://registry.corp.example/', { NO_PROXY: 'corp.example' })).toBeUndefined();
    expect(via('https://corp.example/', { NO_PROXY: '.corp.example' })).toBeUndefined();
    expect(via('https://a.corp.example/', { no_proxy: '*.corp.example' })).toBeUndefined();
    expect(via('https://notcorp.example/', { NO_PROXY: 'corp.example' })).toBe('http://proxy.corp:3128/');
    expect(via('https://r.example:5000/', { NO_PROXY: 'r.example:5000' })).toBeUndefined();
    expect(via('https://r.example/', { NO_PROXY: 'r.example:5000' })).toBe('http://proxy.corp:3128/');
    expect(via('https://10.1.2.3/', { NO_PROXY: '10.0.0.0/8' })).toBeUndefined();
    expect(via('https://10.1.2.3/', { NO_PROXY: '10.1.2.3' })).toBeUndefined();
    expect(via('https://anything.example/', { NO_PROXY: ' , *' })).toBeUndefined();
  });
});

describe('TunnelingAgent: HTTPS through a CONNECT proxy', () => {
  let dir: TestDir;
  let server: https.Server;
  let proxy: http.Server;
  const connects: string[] = [];
  const sockets = new Set<net.Socket>();
  let serverPort = 0;
  let proxyPort = 0;
  let ca = '';

  beforeAll(async () => {
    dir = testdir({});
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir.path, stdio: 'pipe' });
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=proxy test CA']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 's.key', '-out', 's.csr', '-subj', '/CN=registry.gobuild-cnb.test']);
    writeFileSync(join(dir.path, 'san.ext'), 'subjectAltName=DNS:registry.gobuild-cnb.test\n');
    ssl(['x509', '-req', '-in', 's.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 's.pem', '-days', '2', '-extfile', 'san.ext']);
    ca = readFileSync(join(dir.path, 'ca.pem'), 'utf8');
    server = https.createServer({ key: readFileSync(join(dir.path, 's.key')), cert: readFileSync(join(dir.path, 's.pem')) }, (req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    serverPort = (server.address() as AddressInfo).port;
    // The proxy resolves every name to the test server: the client never looks the name up itself.
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      connects.push(`${req.url} ${req.headers['proxy-authorization'] ?? ''}`.trim());
      sockets.add(client);
      if (req.url?.startsWith('refused.')) {
        client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      const upstream = net.connect(serverPort, '127.0.0.1', () => {
        sockets.add(upstream);
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => proxy.close(r));
    dir.cleanup();
  });

  const get = (agent: https.Agent, host: string): Promise<string> =>
    new Promise((resolve, reject) => {
      https
        .get({ host, port: 443, path: '/v2/', agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });

  it('tunnels to the host, verifies its certificate against the agent CA, and sends proxy credentials', async () => {
    const agent = new TunnelingAgent(new URL(`http://u%40x:p%3Aw@127.0.0.1:${proxyPort}`), { ca: [ca] });
    expect(await get(agent, 'registry.gobuild-cnb.test')).toBe('hello /v2/');
    expect(connects).toContain(`registry.gobuild-cnb.test:443 Basic ${Buffer.from('u@x:p:w').toString('base64')}`);
    agent.destroy();
  });

  it('refuses a certificate the agent does not trust, through the tunnel too', async () => {
    const agent = new TunnelingAgent(new URL(`http://127.0.0.1:${proxyPort}`), {});
    await expect(get(agent, 'registry.gobuild-cnb.test')).rejects.toThrow(/self[- ]signed|unable to verify|unable to get local issuer/i);
    agent.destroy();
  });

  it("names the proxy when it refuses the tunnel", async () => {
    const agent = new TunnelingAgent(new URL(`http://127.0.0.1:${proxyPort}`), { ca: [ca] });
    await expect(get(agent, 'refused.gobuild-cnb.test')).rejects.toThrow(`proxy 127.0.0.1:${proxyPort}: CONNECT refused.gobuild-cnb.test:443 answered 403 Forbidden`);
    agent.destroy();
  });
});
