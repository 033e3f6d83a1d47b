/**
 * A client of the OCI distribution API (https://github.com/opencontainers/distribution-spec),
 * just the calls a push needs, over Node's own http/https.
 *
 * - HTTPS always first. Plain HTTP (and unverified TLS) only for insecure hosts: loopback
 *   (localhost, 127.0.0.0/8, ::1), as docker does, and those given as insecure registries.
 * - Anonymous first: `GET /v2/` learns the registry's challenge; requests then carry Basic
 *   credentials or a Bearer token for their scope (cached, reused while it covers the scope).
 *   On a 401 the token is refreshed once; a second refusal is a RegistryAuthError naming the
 *   credential source that was tried.
 * - Requests go only to the registry host (upload locations elsewhere are refused), to the
 *   token realm its challenge names, and, without credentials, to where a blob download is
 *   redirected (registries serve blobs from a storage host).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { proxyFor, TunnelingAgent } from './proxy';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Blob, Digest } from '../image/types';
import { MediaType } from '../image/types';
import { basicAuthorizationFor, mergeScopes, parseChallenge, repositoryScope, TokenCache, type Challenge } from './auth';
import { describeCredentialSource, lookupCredentials, type CredentialLookup, type CredentialOptions } from './credentials';
import {
  ManifestRejectedError,
  RegistryAuthError,
  RegistryError,
  RegistryResponseError,
  unreachableRegistry,
  type RegistryErrorEntry,
  type RegistryUnreachableError,
} from './errors';
import { isInsecureRegistry, registryApiHost } from './reference';

const DEFAULT_TIMEOUT_MS = 60_000;
/** Manifests are at most 4 MiB (distribution spec); error bodies are small. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const USER_AGENT = 'gobuild-cnb';
const MANIFEST_MEDIA_TYPES = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest];

export interface RegistryClientOptions {
  /** The registry as named in the image reference (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Hosts (host:port, or hostname for every port) that may be spoken to over plain HTTP. */
  insecureRegistries?: readonly string[];
  /** Credentials to use; by default looked up (once) in the docker config. */
  credentials?: CredentialLookup | (() => Promise<CredentialLookup>);
  credentialOptions?: CredentialOptions;
  /** Idle timeout of one request, in ms. */
  timeoutMs?: number;
  /** Extra CA certificates (PEM) to trust besides Node's own list: the host's and --ca-certs. */
  extraCaPem?: string;
  /** Where HTTP_PROXY, HTTPS_PROXY and NO_PROXY are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface ManifestResponse {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

export type MountResult = 'mounted' | 'uploaded';

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The unread body, for a response the request asked to stream (`streamWhen`). */
  stream?: http.IncomingMessage;
}

interface RequestBody {
  open(): Readable | Buffer;
  length: number;
  contentType: string;
}

interface RequestSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  scopes: string[];
  /** What we were doing, for error messages: "push manifest test/app:1.0". */
  action: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Statuses whose body is handed over unread (e.g. a blob's 200) instead of read whole. */
  streamWhen?: (status: number) => boolean;
}

/** Redirects a blob download follows (registries send blobs from a storage host). */
const MAX_BLOB_REDIRECTS = 5;

/** A failure below HTTP (connect, DNS, TLS, timeout), as opposed to one reading a blob. */
class TransportError extends Error {
  constructor(readonly error: NodeJS.ErrnoException) {
    super(error.message);
  }
}

export function sha256Digest(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export class RegistryClient {
  /** The registry as the user named it. */
  readonly registry: string;
  /** host[:port] the API answers on. */
  readonly apiHost: string;
  private readonly insecureRegistries: readonly string[];
  private readonly insecure: boolean;
  private readonly timeoutMs: number;
  private readonly tokens = new TokenCache();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent: https.Agent;
  private readonly httpsAgentOptions: https.AgentOptions;
  private readonly env: NodeJS.ProcessEnv;
  /** One CONNECT-tunnelling agent per proxy URL. */
  private readonly tunnels = new Map<string, TunnelingAgent>();
  private readonly credentialSource: () => Promise<CredentialLookup>;
  private credentialLookup?: Promise<CredentialLookup>;
  private base?: Promise<URL>;
  private baseUrl?: URL;
  private challenge?: Challenge;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    this.apiHost = registryApiHost(options.registry);
    this.insecureRegistries = options.insecureRegistries ?? [];
    this.insecure = isInsecureRegistry(this.apiHost, this.insecureRegistries);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Node trusts its own CA list, not the host's: the host's CAs and --ca-certs are added to it.
    const ca = options.extraCaPem ? [...tls.rootCertificates, options.extraCaPem] : undefined;
    this.httpsAgentOptions = { keepAlive: true, maxSockets: 8, ...(ca ? { ca } : {}) };
    this.httpsAgent = new https.Agent(this.httpsAgentOptions);
    this.env = options.env ?? process.env;
    const given = options.credentials;
    this.credentialSource =
      given === undefined
        ? () => lookupCredentials(this.registry, options.credentialOptions)
        : typeof given === 'function'
          ? given
          : () => Promise.resolve(given);
  }

  /** Releases kept-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    for (const tunnel of this.tunnels.values()) tunnel.destroy();
  }

  private tunnelAgent(proxy: URL): TunnelingAgent {
    let agent = this.tunnels.get(proxy.href);
    if (!agent) {
      agent = new TunnelingAgent(proxy, this.httpsAgentOptions);
      this.tunnels.set(proxy.href, agent);
    }
    return agent;
  }

  /** `GET /v2/`: checks the registry answers, picks HTTPS or (insecure hosts only) HTTP. */
  async ping(): Promise<{ url: string; auth: 'none' | Challenge['scheme'] }> {
    const base = await this.resolveBase();
    return { url: base.href, auth: this.challenge?.scheme ?? 'none' };
  }

  /**
   * Fails unless we may push to the repository, e.g. before a long build (pack checks this too).
   * It opens an upload session and leaves it: cancelling needs the `delete` scope, and the
   * registry purges stale sessions itself.
   */
  async checkPushAccess(repository: string): Promise<void> {
    await this.startUpload(repository, `push to ${repository}`);
  }

  /** HEAD of a blob. `forPush` asks the token for push too, so a push needs a single token. */
  async hasBlob(repository: string, digest: Digest, options: { forPush?: boolean } = {}): Promise<boolean> {
    const action = `check blob ${digest} in ${repository}`;
    const actions: Array<'pull' | 'push'> = options.forPush ? ['pull', 'push'] : ['pull'];
    const res = await this.request({ method: 'HEAD', url: await this.url(`/v2/${repository}/blobs/${digest}`), scopes: [repositoryScope(repository, actions)], action });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.responseError(res, action);
  }

  async uploadBlob(repository: string, blob: Blob): Promise<void> {
    const location = await this.startUpload(repository, `upload ${blob.descriptor.digest} to ${repository}`);
    await this.finishUpload(repository, location, blob);
  }

  /**
   * Cross-repository mount: the registry links a blob it holds in `fromRepository`. When it
   * cannot (202), the upload session it opened instead is used to upload the blob.
   */
  async mountBlob(repository: string, blob: Blob, fromRepository: string): Promise<MountResult> {
    const { digest } = blob.descriptor;
    const action = `mount ${digest} from ${fromRepository} into ${repository}`;
    const url = await this.url(`/v2/${repository}/blobs/uploads/`);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepository);
    const scopes = [repositoryScope(repository, ['pull', 'push']), repositoryScope(fromRepository, ['pull'])];
    const res = await this.request({ method: 'POST', url, scopes, action, headers: { 'Content-Length': '0' } });
    if (res.status === 201) return 'mounted';
    if (res.status !== 202) throw this.responseError(res, action);
    await this.finishUpload(repository, this.location(res, action), blob);
    return 'uploaded';
  }

  /** Pushes a manifest or index; returns its digest (the sha256 of exactly these bytes). */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const action = `push manifest ${repository}:${reference}`;
    const res = await this.request({
      method: 'PUT',
      url: await this.url(`/v2/${repository}/manifests/${reference}`),
      scopes: [repositoryScope(repository, ['pull', 'push'])],
      action,
      body: { open: () => bytes, length: bytes.length, contentType: mediaType },
    });
    if (res.status !== 201 && res.status !== 200) {
      const { errors, summary } = registryErrors(res);
      throw new ManifestRejectedError(`registry ${this.registry} rejected the manifest for ${repository}:${reference}: ${summary}`, {
        host: this.apiHost,
        status: res.status,
        errors,
        details: errors.some((e) => e.detail !== undefined) ? JSON.stringify(errors, null, 2) : undefined,
        hint: errors.some((e) => e.code === 'MANIFEST_BLOB_UNKNOWN' || e.code === 'BLOB_UNKNOWN')
          ? 'A blob the manifest names is not in the repository: push every layer and the config before the manifest.'
          : 'The registry may not accept this media type or manifest shape; its error above says what it disliked.',
      });
    }
    return sha256Digest(bytes);
  }

  /** Fetches a manifest or index; undefined when the registry has none by that tag or digest. */
  async getManifest(repository: string, reference: string, accept: readonly string[] = MANIFEST_MEDIA_TYPES): Promise<ManifestResponse | undefined> {
    const action = `get manifest ${repository}:${reference}`;
    const res = await this.request({
      method: 'GET',
      url: await this.url(`/v2/${repository}/manifests/${reference}`),
      scopes: [repositoryScope(repository, ['pull'])],
      action,
      headers: { Accept: accept.join(', ') },
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.responseError(res, action);
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim();
    return { bytes: res.body, mediaType, digest: sha256Digest(res.body) };
  }

  /**
   * Streams a blob. The stream fails at its end when the bytes do not hash to the digest (or
   * their count differs from `size`). Redirects to a storage host are followed without
   * credentials, as docker does.
   */
  async getBlob(repository: string, descriptor: { digest: Digest; size?: number }): Promise<Readable> {
    const { digest, size } = descriptor;
    const action = `download blob ${digest} from ${repository}`;
    const streamWhen = (status: number): boolean => status === 200;
    let res = await this.request({ method: 'GET', url: await this.url(`/v2/${repository}/blobs/${digest}`), scopes: [repositoryScope(repository, ['pull'])], action, streamWhen });
    let url = this.resolvedBase();
    for (let hops = 0; isRedirect(res.status) && hops < MAX_BLOB_REDIRECTS; hops++) {
      const location = header(res, 'location');
      if (!location) break;
      url = new URL(location, url);
      try {
        res = await this.exchange('GET', url, { 'User-Agent': USER_AGENT }, undefined, streamWhen);
      } catch (error) {
        if (error instanceof TransportError) throw this.unreachable(error.error, url.protocol.slice(0, -1), url.host);
        throw error;
      }
    }
    if (res.status !== 200 || !res.stream) throw this.responseError(res, action, url.host);
    const verified = new VerifyingStream(digest, size, `blob ${digest} from ${this.registry}/${repository}`, this.apiHost);
    res.stream.on('error', (error) => verified.destroy(error));
    return res.stream.pipe(verified);
  }

  /** A small blob (a config) read whole and checked against its digest. */
  async getBlobBytes(repository: string, descriptor: { digest: Digest; size?: number }): Promise<Buffer> {
    if (descriptor.size !== undefined && descriptor.size > MAX_RESPONSE_BYTES) {
      throw new RegistryError(`blob ${descriptor.digest} is ${descriptor.size} bytes, too big to read into memory`, { host: this.apiHost });
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await this.getBlob(repository, descriptor)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  // --- uploads ---------------------------------------------------------------------------

  private async startUpload(repository: string, action: string): Promise<URL> {
    const res = await this.request({
      method: 'POST',
      url: await this.url(`/v2/${repository}/blobs/uploads/`),
      scopes: [repositoryScope(repository, ['pull', 'push'])],
      action,
      headers: { 'Content-Length': '0' },
    });
    if (res.status !== 202) throw this.responseError(res, action);
    return this.location(res, action);
  }

  /** Streams the blob in one PATCH, then commits it with PUT ?digest= (as go-containerregistry does). */
  private async finishUpload(repository: string, location: URL, blob: Blob): Promise<void> {
    const { digest, size } = blob.descriptor;
    const action = `upload ${digest} to ${repository}`;
    const scopes = [repositoryScope(repository, ['pull', 'push'])];
    const patched = await this.request({
      method: 'PATCH',
      url: location,
      scopes,
      action,
      body: { open: () => blob.open(), length: size, contentType: 'application/octet-stream' },
    });
    if (patched.status !== 202) throw this.responseError(patched, action);
    const commit = this.location(patched, action);
    commit.searchParams.set('digest', digest);
    const committed = await this.request({ method: 'PUT', url: commit, scopes, action, headers: { 'Content-Length': '0' } });
    if (committed.status !== 201) throw this.responseError(committed, action);
  }

  /** The Location of an upload session, which must stay on the registry's own origin. */
  private location(res: Response, action: string): URL {
    const header = res.headers.location;
    if (!header) throw this.responseError(res, `${action} (no Location header in the answer)`);
    const base = this.resolvedBase();
    const url = new URL(header, base);
    if (url.origin !== base.origin) {
      throw new RegistryError(`registry ${this.registry} asked us to ${action} at ${url.origin}, another host; refusing`, {
        host: this.apiHost,
        hint: 'gobuild-cnb only sends data to the registry host of the image name and its token service.',
      });
    }
    return url;
  }

  // --- scheme and auth -------------------------------------------------------------------

  private resolveBase(): Promise<URL> {
    this.base ??= this.probe().then(
      (url) => (this.baseUrl = url),
      (error: unknown) => {
        this.base = undefined; // let a later call try again
        throw error;
      },
    );
    return this.base;
  }

  private resolvedBase(): URL {
    if (!this.baseUrl) throw new Error('registry base URL used before GET /v2/');
    return this.baseUrl;
  }

  private async url(path: string): Promise<URL> {
    return new URL(path, await this.resolveBase());
  }

  private async probe(): Promise<URL> {
    let failure: { error: NodeJS.ErrnoException; scheme: string } | undefined;
    for (const scheme of this.insecure ? ['https', 'http'] : ['https']) {
      const base = new URL(`${scheme}://${this.apiHost}/`);
      let res: Response;
      try {
        res = await this.exchange('GET', new URL('/v2/', base), { 'User-Agent': USER_AGENT });
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        failure = { error: error.error, scheme };
        continue;
      }
      if (res.status === 401) this.challenge = parseChallenge(header(res, 'www-authenticate'));
      else if (res.status === 404) {
        throw new RegistryResponseError(`${base.origin} answers, but not as a container registry (GET /v2/ gave 404)`, {
          host: this.apiHost,
          status: res.status,
          errors: [],
          hint: 'Check the registry part of the image name (-t).',
        });
      } else if (res.status !== 200) throw this.responseError(res, 'reach the registry API (GET /v2/)');
      return base;
    }
    throw this.unreachable(failure!.error, failure!.scheme);
  }

  private credentials(): Promise<CredentialLookup> {
    return (this.credentialLookup ??= this.credentialSource());
  }

  /** The Authorization header for a request needing these scopes, fetching a token if needed. */
  private async authorization(scopes: string[], challengeScope?: string): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    const lookup = await this.credentials();
    if (challenge.scheme === 'basic') return basicAuthorizationFor(lookup.credentials);
    const wanted = mergeScopes(scopes, challengeScope);
    const cached = this.tokens.get(challenge.realm, challenge.service, wanted);
    if (cached) return `Bearer ${cached}`;
    // Blobs are pushed in parallel: they share one token request rather than each asking.
    const key = JSON.stringify([challenge.realm, challenge.service, [...wanted].sort()]);
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(challenge, wanted, lookup).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    return `Bearer ${await pending}`;
  }

  /** Token service exchange: GET with Basic credentials (or anonymous), POST for a refresh token. */
  private async fetchToken(challenge: Extract<Challenge, { scheme: 'bearer' }>, scopes: string[], lookup: CredentialLookup): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      throw new RegistryError(`registry ${this.registry} named a token service that is not a URL: ${JSON.stringify(challenge.realm)}`, { host: this.apiHost });
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isInsecureRegistry(realm.host, this.insecureRegistries))) {
      throw new RegistryError(`registry ${this.registry} wants tokens from ${realm.origin}, which is not HTTPS; refusing to send credentials there`, {
        host: realm.host,
        hint: `If you trust that network, pass --insecure-registry ${realm.host}.`,
      });
    }
    const credentials = lookup.credentials;
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
    let method: 'GET' | 'POST' = 'GET';
    let body: RequestBody | undefined;
    if (credentials?.kind === 'identity-token') {
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.token, client_id: USER_AGENT, scope: scopes.join(' ') });
      if (challenge.service) form.set('service', challenge.service);
      const bytes = Buffer.from(form.toString());
      body = { open: () => bytes, length: bytes.length, contentType: 'application/x-www-form-urlencoded' };
    } else {
      if (challenge.service) realm.searchParams.set('service', challenge.service);
      for (const scope of scopes) realm.searchParams.append('scope', scope);
      if (credentials?.kind === 'basic') {
        realm.searchParams.set('account', credentials.username);
        headers.Authorization = basicAuthorizationFor(credentials)!;
      }
    }
    let res: Response;
    try {
      res = await this.exchange(method, realm, headers, body);
    } catch (error) {
      if (error instanceof TransportError) throw this.unreachable(error.error, realm.protocol.slice(0, -1), realm.host);
      throw error;
    }
    if (res.status === 401 || res.status === 403) throw this.authRefused(res, `get a token for ${scopes.join(' ')} from ${realm.host}`, lookup, realm.host);
    if (res.status !== 200) throw this.responseError(res, `get a token from ${realm.host}`, realm.host);
    let answer: { token?: string; access_token?: string; expires_in?: number };
    try {
      answer = JSON.parse(res.body.toString('utf8')) as typeof answer;
    } catch {
      throw new RegistryError(`token service ${realm.host} did not answer with JSON`, { host: realm.host });
    }
    const token = answer.access_token ?? answer.token;
    if (!token) throw new RegistryError(`token service ${realm.host} answered without a token`, { host: realm.host });
    this.tokens.put(challenge.realm, challenge.service, scopes, token, answer.expires_in);
    return token;
  }

  /** One API request with auth: a 401 refreshes the challenge and credentials once, then gives up. */
  private async request(spec: RequestSpec): Promise<Response> {
    await this.resolveBase();
    const first = await this.authorization(spec.scopes);
    let res = await this.send(spec, first);
    if (res.status === 401) {
      const challenge = parseChallenge(header(res, 'www-authenticate'));
      if (challenge) this.challenge = challenge;
      if (first?.startsWith('Bearer ')) this.tokens.forget(first.slice('Bearer '.length));
      const retry = await this.authorization(spec.scopes, challenge?.scheme === 'bearer' ? challenge.scope : undefined);
      if (retry !== undefined && retry !== first) res = await this.send(spec, retry);
    }
    if (res.status === 401 || res.status === 403) throw this.authRefused(res, spec.action, await this.credentials(), this.apiHost);
    return res;
  }

  private async send(spec: RequestSpec, authorization: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...spec.headers };
    if (authorization) headers.Authorization = authorization;
    try {
      return await this.exchange(spec.method, spec.url, headers, spec.body, spec.streamWhen);
    } catch (error) {
      if (error instanceof TransportError) throw this.unreachable(error.error, spec.url.protocol.slice(0, -1));
      throw error;
    }
  }

  // --- transport -------------------------------------------------------------------------

  /** One HTTP exchange; the response body is read whole (API answers are small) unless `streamWhen` says to hand it over. */
  private exchange(method: string, url: URL, headers: Record<string, string>, body?: RequestBody, streamWhen?: (status: number) => boolean): Promise<Response> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, res?: Response) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(res!);
      };
      const allHeaders = { ...headers };
      if (body) {
        allHeaders['Content-Type'] = body.contentType;
        allHeaders['Content-Length'] = String(body.length);
      }
      const secure = url.protocol === 'https:';
      const options: https.RequestOptions = { method, headers: allHeaders, agent: secure ? this.httpsAgent : this.httpAgent };
      const proxy = proxyFor(url, this.env);
      if (proxy && secure) {
        options.agent = this.tunnelAgent(proxy);
      } else if (proxy) {
        // Plain HTTP through a proxy: the whole URL goes to the proxy (absolute form).
        Object.assign(options, { hostname: proxy.hostname, port: proxy.port || 80, path: url.href });
        allHeaders.Host = url.host;
        if (proxy.username) {
          allHeaders['Proxy-Authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
        }
      }
      // Insecure hosts get unverified TLS, as docker gives them.
      if (secure && isInsecureRegistry(url.host, this.insecureRegistries)) options.rejectUnauthorized = false;
      const req = (secure ? https : http).request(url, options, (res) => {
        if (streamWhen?.(res.statusCode ?? 0)) {
          settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0), stream: res });
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) {
            res.destroy();
            settle(new RegistryError(`${url.host} sent more than ${MAX_RESPONSE_BYTES} bytes for ${method} ${url.pathname}`, { host: url.host }));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (error) => settle(new TransportError(error)));
      });
      req.setTimeout(this.timeoutMs, () => {
        const timeout: NodeJS.ErrnoException = new Error(`no answer within ${Math.round(this.timeoutMs / 1000)} s`);
        timeout.code = 'ETIMEDOUT';
        req.destroy(timeout);
      });
      req.on('error', (error) => settle(new TransportError(error)));
      if (!body) {
        req.end();
        return;
      }
      const content = body.open();
      if (Buffer.isBuffer(content)) {
        req.end(content);
        return;
      }
      content.on('error', (error) => {
        settle(error);
        req.destroy();
      });
      content.pipe(req);
    });
  }

  // --- errors ----------------------------------------------------------------------------

  private unreachable(error: NodeJS.ErrnoException, scheme: string, host = this.apiHost): RegistryUnreachableError {
    const tried = this.insecure && host === this.apiHost ? 'HTTPS and plain HTTP' : scheme.toUpperCase();
    return unreachableRegistry(error, host, tried);
  }

  private authRefused(res: Response, action: string, lookup: CredentialLookup, host: string): RegistryAuthError {
    const source = describeCredentialSource(lookup);
    const { summary } = registryErrors(res);
    const hint =
      lookup.credentials === undefined
        ? `Log in with \`docker login ${this.registry}\` (credentials are read from the docker config.json and its credential helpers).`
        : `Check the credentials with \`docker login ${this.registry}\`, and that the account may ${action}.`;
    return new RegistryAuthError(`authentication to ${host} refused (${res.status}) for: ${action} [${summary}]; credentials tried: ${source}`, {
      host,
      credentialSource: source,
      hint,
    });
  }

  private responseError(res: Response, action: string, host = this.apiHost): RegistryResponseError {
    const { errors, summary } = registryErrors(res);
    return new RegistryResponseError(`registry ${host} could not ${action}: ${summary}`, { host, status: res.status, errors });
  }
}

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

/** Passes bytes through; fails at the end when they do not hash to the expected digest. */
class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private received = 0;

  constructor(
    private readonly digest: Digest,
    private readonly size: number | undefined,
    private readonly what: string,
    private readonly host: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.received += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual: Digest = `sha256:${this.hash.digest('hex')}`;
    if (actual !== this.digest || (this.size !== undefined && this.received !== this.size)) {
      callback(new RegistryError(`${this.what} is corrupt: got ${this.received} bytes hashing to ${actual}`, { host: this.host, hint: 'Retry; if it persists, the registry holds a damaged blob.' }));
      return;
    }
    callback();
  }
}

function header(res: Response, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The distribution API's error body, and a one-line summary "CODE: message (HTTP n)". */
export function registryErrors(res: { status: number; body: Buffer }): { errors: RegistryErrorEntry[]; summary: string } {
  let errors: RegistryErrorEntry[] = [];
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { errors?: RegistryErrorEntry[] };
    if (Array.isArray(parsed.errors)) errors = parsed.errors.filter((e) => e && typeof e.code === 'string');
  } catch {
    // not JSON: the status says it all
  }
  const said = errors.map((e) => `${e.code}: ${e.message ?? ''}`.trim()).join('; ');
  return { errors, summary: said ? `${said} (HTTP ${res.status})` : `HTTP ${res.status}` };
}
