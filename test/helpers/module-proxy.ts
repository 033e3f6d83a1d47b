/**
 * Real servers for network tests, on 127.0.0.1 only: a CA made by the test (openssl) with a
 * server certificate for 127.0.0.1 that it signed, and the GOPROXY protocol served from
 * fixtures/goproxy (/<module>/@v/<file>), so the real `go` in a build container (--network host)
 * is the client.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT } from './cli';

export const PROXY_FIXTURE = join(REPO_ROOT, 'fixtures', 'goproxy');

export interface TestCa {
  /** The CA certificate (PEM), for --ca-certs or a host bundle. */
  caFile: string;
  /** Key and certificate of a server on 127.0.0.1, signed by the CA. */
  serverKey: Buffer;
  serverCert: Buffer;
}

/** Makes a CA and a 127.0.0.1 server certificate in `dir`. */
export function makeTestCa(dir: string, name: string): TestCa {
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name}`]);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  return { caFile: join(dir, 'ca.pem'), serverKey: readFileSync(join(dir, 'server.key')), serverCert: readFileSync(join(dir, 'server.pem')) };
}

/** Answers one GOPROXY request from fixtures/goproxy; never a file outside it. */
export function serveGoModule(path: string, res: http.ServerResponse): void {
  const file = join(PROXY_FIXTURE, decodeURIComponent(path.split('?')[0]));
  if (!file.startsWith(`${PROXY_FIXTURE}/`) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200);
  createReadStream(file).pipe(res);
}
