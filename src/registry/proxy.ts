/**
 * The CLI's own HTTP(S) through the proxies of the environment (HTTP_PROXY, HTTPS_PROXY,
 * NO_PROXY, either case), with the rules Go's net/http uses (golang.org/x/net/http/httpproxy),
 * so the build and the CLI agree on what goes through the proxy: loopback hosts never do; NO_PROXY
 * entries are host names (matching subdomains too; a leading dot or `*.` is the same), IP
 * addresses, CIDR ranges, optionally with a port, or `*` for everything. HTTPS goes through a
 * CONNECT tunnel; plain HTTP is sent to the proxy in absolute form. See docs/networks.md.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const raw = target.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!raw) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || isLoopback(host)) return undefined;
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  if (noProxyMatches(host, port, env.NO_PROXY ?? env.no_proxy ?? '')) return undefined;
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    return undefined; // as Go does with a proxy it cannot parse: none
  }
}

function isLoopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1';
}

function noProxyMatches(host: string, port: string, noProxy: string): boolean {
  for (let entry of noProxy.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (net.isIP(host) && inCidr(host, entry)) return true;
      continue;
    }
    let entryPort: string | undefined;
    const portMatch = /^(.*[^:\]]|\[.*\]):(\d+)$/.exec(entry);
    if (portMatch && !net.isIPv6(entry)) {
      entry = portMatch[1];
      entryPort = portMatch[2];
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const list = new net.BlockList();
  const type = net.isIPv6(base) ? 'ipv6' : 'ipv4';
  try {
    list.addSubnet(base, Number(bitsText), type);
    return list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}

/** An error the tunnel reports like a connection error, with the proxy named. */
function tunnelError(proxy: URL, message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`proxy ${proxy.host}: ${message}`);
  error.code = 'EPROXY';
  return error;
}

/**
 * An https.Agent that reaches every host through a CONNECT tunnel of one proxy, then speaks TLS
 * to the host inside it (verified against the agent's `ca`, like a direct connection).
 */
export class TunnelingAgent extends https.Agent {
  constructor(
    private readonly proxy: URL,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(requested: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | undefined {
    // The agent hands the TLS options (ca, servername, ...) of the request in here.
    const options = requested as tls.ConnectionOptions & { host?: string; port?: number | string };
    const fail = (error: Error): void => callback?.(error, undefined as never);
    const target = `${options.host}:${options.port}`;
    const headers: Record<string, string> = { Host: target };
    if (this.proxy.username) {
      headers['Proxy-Authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`).toString('base64')}`;
    }
    const request = (this.proxy.protocol === 'https:' ? https : http).request({
      host: this.proxy.hostname,
      port: this.proxy.port || (this.proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
    });
    request.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(tunnelError(this.proxy, `CONNECT ${target} answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
        return;
      }
      const secure = tls.connect({ ...options, socket, servername: options.servername ?? (net.isIP(options.host ?? '') ? undefined : options.host) });
      callback?.(null, secure);
    });
    request.once('error', (err) => fail(tunnelError(this.proxy, err.message)));
    request.end();
    return undefined;
  }
}
