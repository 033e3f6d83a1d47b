/**
 * startRegistry: a real registry server (Debian's docker-registry, via scripts/start-registry.sh)
 * on a free 127.0.0.1 port, optionally with htpasswd (bcrypt) auth or token auth. Call stop() in
 * afterAll. startTokenServer: the token service for token auth (the registry verifies its JWTs
 * for real; docker's own auth servers are not packaged in Debian).
 */
import { execFile } from 'node:child_process';
import { createSign, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(__dirname, '../../scripts/start-registry.sh');
const SCRIPT_TIMEOUT_MS = 60_000;

export interface LocalRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

export interface RegistryAuth {
  username: string;
  password: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startRegistry(options: { auth?: RegistryAuth; tokenServer?: TokenServer } = {}): Promise<LocalRegistry> {
  const port = await freePort();
  const workDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-registry-'));
  const env = { ...process.env, GOBUILD_CNB_REGISTRY_DIR: join(workDir, 'state') };
  const args = [String(port)];
  if (options.auth) {
    const htpasswdFile = join(workDir, 'htpasswd');
    writeFileSync(htpasswdFile, await htpasswdLine(options.auth));
    args.push('--htpasswd', htpasswdFile);
  }
  if (options.tokenServer) args.push('--token-realm', options.tokenServer.realm, '--token-cert', options.tokenServer.certFile);
  const stop = async (): Promise<void> => {
    try {
      await run('bash', [SCRIPT, '--stop', String(port)], { env, timeout: SCRIPT_TIMEOUT_MS });
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  };
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { env, timeout: SCRIPT_TIMEOUT_MS });
    return { host: stdout.trim(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A bcrypt htpasswd entry (the only kind docker-registry accepts), at the lowest cost (4) to keep tests fast. */
async function htpasswdLine({ username, password }: RegistryAuth): Promise<string> {
  try {
    const { stdout } = await run('htpasswd', ['-nbB', '-C', '4', username, password]);
    return stdout.trim() + '\n';
  } catch {
    const script = 'import crypt,sys; print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))';
    const { stdout } = await run('python3', ['-W', 'ignore', '-c', script, username, password]);
    return stdout.trim() + '\n';
  }
}

export interface TokenRequest {
  method: string;
  scopes: string[];
  /** Who the token was issued to; undefined for an anonymous token (which grants nothing). */
  account?: string;
}

export interface TokenServer {
  /** http://127.0.0.1:PORT/token */
  realm: string;
  /** Certificate whose key signs the tokens: the registry's rootcertbundle. */
  certFile: string;
  /** Every token issued, in order. */
  issued: TokenRequest[];
  stop(): Promise<void>;
}

/**
 * A token service as https://distribution.github.io/distribution/spec/auth/token/ describes:
 * GET with Basic credentials (or none: an anonymous token granting nothing), POST with an OAuth2
 * refresh token. Known users get every scope they ask for; wrong credentials get 401.
 */
export async function startTokenServer(options: { users: Record<string, string>; refreshTokens: Record<string, string> }): Promise<TokenServer> {
  const workDir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-token-'));
  const keyFile = join(workDir, 'key.pem');
  const certFile = join(workDir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=gobuild-cnb-token-issuer']);
  const key = readFileSync(keyFile, 'utf8');
  const certDer = readFileSync(certFile, 'utf8').replace(/-----[A-Z ]+-----|\s/g, '');
  const issued: TokenRequest[] = [];

  const sign = (account: string | undefined, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = account
      ? scopes.map((scope) => {
          const [type, ...rest] = scope.split(':');
          const actions = rest.pop() ?? '';
          return { type, name: rest.join(':'), actions: actions.split(',') };
        })
      : [];
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = { iss: 'gobuild-cnb-token-issuer', sub: account ?? '', aud: 'gobuild-cnb-registry', exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const payload = [header, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.');
    return `${payload}.${createSign('RSA-SHA256').update(payload).sign(key).toString('base64url')}`;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      let account: string | undefined;
      let scopes: string[];
      if (req.method === 'POST') {
        account = form.get('grant_type') === 'refresh_token' ? options.refreshTokens[form.get('refresh_token') ?? ''] : undefined;
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        if (!account) return deny(res);
      } else {
        scopes = url.searchParams.getAll('scope');
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        if (basic) {
          const [user, ...password] = Buffer.from(basic[1], 'base64').toString().split(':');
          if (options.users[user] !== password.join(':')) return deny(res);
          account = user;
        }
      }
      issued.push({ method: req.method ?? '', scopes, account });
      const token = sign(account, scopes);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as { port: number };
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile,
    issued,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolveClose) => server.close(resolveClose));
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

function deny(res: http.ServerResponse): void {
  res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));
}
