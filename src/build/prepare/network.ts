/**
 * The network a build reaches, as the host reaches it (issue #11, part 1): the CA certificates
 * the host trusts (plus `--ca-certs`) and the proxies of the host's environment and of the docker
 * config file. Both reach the build container only: the CA bundle as a file beside our phase
 * wrapper (which points SSL_CERT_FILE at the builder's bundle merged with it, for the phase's
 * process alone), the proxies as build env. Neither is written into a layer, a label or the
 * cache volume. Pure except for reading the files it is pointed at. See docs/networks.md.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors';

/** Where distributions keep their CA bundle: Go's own list (crypto/x509/root_linux.go), in its order. */
export const SYSTEM_CA_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
] as const;

export interface CaBundle {
  /** PEM certificates, each once. */
  pem: string;
  count: number;
  /** Where they came from, for --verbose. */
  sources: string[];
}

export interface TrustSettings {
  /** Trust what the host trusts (default true; `--no-host-ca-certs` turns it off). */
  hostCaCerts: boolean;
  /** `--ca-certs <file>`, repeatable. */
  caCertFiles: readonly string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks in a text, normalised to \n line ends. */
export function pemCertificates(text: string): string[] {
  return (text.match(PEM_CERTIFICATE) ?? []).map((block) => block.replace(/\r\n/g, '\n'));
}

function readableFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The host's trusted CAs as its own TLS clients find them: SSL_CERT_FILE (else the first
 * system bundle that exists) and every file in SSL_CERT_DIR's directories.
 */
export function hostCaSources(env: NodeJS.ProcessEnv): string[] {
  const sources: string[] = [];
  const file = env.SSL_CERT_FILE ? env.SSL_CERT_FILE : SYSTEM_CA_BUNDLES.find((path) => existsSync(path));
  if (file && readableFile(file)) sources.push(file);
  for (const dir of (env.SSL_CERT_DIR ?? '').split(':').filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue; // a dir that is not there adds nothing, as for OpenSSL and Go
    }
    for (const name of names) {
      const path = join(dir, name);
      if (readableFile(path)) sources.push(path);
    }
  }
  return sources;
}

/**
 * The extra CAs the build trusts, deduplicated, or undefined when there are none. A `--ca-certs`
 * file that is missing or holds no PEM certificate is a usage error; host files that cannot be
 * read are skipped (the host's own tools skip them too).
 */
export function resolveCaBundle(settings: TrustSettings, env: NodeJS.ProcessEnv): CaBundle | undefined {
  const seen = new Set<string>();
  const sources: string[] = [];
  const add = (path: string, text: string): number => {
    let added = 0;
    for (const cert of pemCertificates(text)) {
      if (seen.has(cert)) continue;
      seen.add(cert);
      added++;
    }
    if (added > 0) sources.push(path);
    return added;
  };
  for (const file of settings.caCertFiles) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (err) {
      throw new UsageError(`--ca-certs ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, {
        hint: 'Give a PEM file of CA certificates (-----BEGIN CERTIFICATE----- blocks), e.g. --ca-certs /usr/local/share/ca-certificates/corp.crt.',
      });
    }
    if (pemCertificates(text).length === 0) {
      throw new UsageError(`--ca-certs ${file}: no PEM certificate in it`, {
        hint: 'The file must hold CA certificates in PEM form (-----BEGIN CERTIFICATE-----). Convert a DER file with `openssl x509 -inform der -in ca.der -out ca.pem`.',
      });
    }
    add(file, text);
  }
  if (settings.hostCaCerts) {
    for (const path of hostCaSources(env)) {
      try {
        add(path, readFileSync(path, 'latin1'));
      } catch {
        // unreadable: skipped, as the host's own TLS clients do
      }
    }
  }
  if (seen.size === 0) return undefined;
  return { pem: `${[...seen].join('\n')}\n`, count: seen.size, sources };
}

/** The proxy variables `docker build` passes on, in both cases. */
export const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'FTP_PROXY', 'ALL_PROXY'] as const;

/** docker config.json `proxies` keys, by variable. */
const CONFIG_PROXY_KEYS: Record<(typeof PROXY_VARIABLES)[number], string> = {
  HTTP_PROXY: 'httpProxy',
  HTTPS_PROXY: 'httpsProxy',
  NO_PROXY: 'noProxy',
  FTP_PROXY: 'ftpProxy',
  ALL_PROXY: 'allProxy',
};

export interface ProxyVar {
  name: string;
  value: string;
  /** `environment` or the config file's path. */
  source: string;
}

/**
 * The proxies a build goes through: the docker config's `proxies` (the entry for this engine's
 * DOCKER_HOST, else `default`), overridden by the same variables in the environment. Each is
 * given in both cases, as `docker build` does, since tools read one or the other.
 */
export function resolveProxies(env: NodeJS.ProcessEnv, dockerConfig?: { path: string; json: unknown }): ProxyVar[] {
  const found = new Map<string, ProxyVar>();
  const proxies = (dockerConfig?.json as { proxies?: Record<string, Record<string, unknown>> } | undefined)?.proxies;
  const entry = proxies ? (proxies[env.DOCKER_HOST ?? ''] ?? proxies.default) : undefined;
  if (entry && typeof entry === 'object') {
    for (const name of PROXY_VARIABLES) {
      const value = entry[CONFIG_PROXY_KEYS[name]];
      if (typeof value === 'string' && value !== '') found.set(name, { name, value, source: dockerConfig!.path });
    }
  }
  for (const name of PROXY_VARIABLES) {
    const value = env[name] ?? env[name.toLowerCase()];
    if (value) found.set(name, { name, value, source: 'environment' });
  }
  return [...found.values()].flatMap((v) => [v, { ...v, name: v.name.toLowerCase() }]);
}

/** Reads the docker config file for its `proxies`; a missing or unreadable file has none. */
export function readDockerConfig(configDir: string): { path: string; json: unknown } | undefined {
  const path = join(configDir, 'config.json');
  try {
    return { path, json: JSON.parse(readFileSync(path, 'utf8')) as unknown };
  } catch {
    return undefined;
  }
}

/** A proxy on the host's loopback is not reachable from a container on a bridge network. */
export function loopbackProxies(proxies: readonly ProxyVar[]): ProxyVar[] {
  return proxies.filter((p) => !/NO_PROXY/i.test(p.name) && p.name === p.name.toUpperCase() && /^(\w+:\/\/)?([^@/]*@)?(localhost|127\.[\d.]+|\[::1\])(:\d+)?(\/|$)/i.test(p.value));
}
