/**
 * Registry authentication pieces that need no network: `WWW-Authenticate` challenges, Basic
 * headers, token scopes and a token cache keyed by what a token grants.
 * Protocol: https://distribution.github.io/distribution/spec/auth/token/
 */
import type { Credentials } from './credentials';

export type Challenge =
  | { scheme: 'basic'; realm?: string }
  | { scheme: 'bearer'; realm: string; service?: string; scope?: string };

/**
 * Parses a `WWW-Authenticate` header value into its first Basic or Bearer challenge.
 * Parameter values may be quoted (with `\"` escapes) or bare tokens; commas inside quotes are kept.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  const params = parseAuthParams(match[2]);
  if (scheme === 'basic') return { scheme: 'basic', realm: params.realm };
  if (scheme === 'bearer' && params.realm) return { scheme: 'bearer', realm: params.realm, service: params.service, scope: params.scope };
  return undefined;
}

function parseAuthParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  const param = /\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/gy;
  let found: RegExpExecArray | null;
  while ((found = param.exec(text)) !== null && found[0] !== '') {
    params[found[1].toLowerCase()] = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : found[3];
  }
  return params;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Basic header for a Basic challenge; identity tokens only work against a token service. */
export function basicAuthorizationFor(credentials: Credentials | undefined): string | undefined {
  return credentials?.kind === 'basic' ? basicAuthorization(credentials.username, credentials.password) : undefined;
}

/** `repository:<name>:<actions>` as the token service wants it. */
export function repositoryScope(repository: string, actions: ReadonlyArray<'pull' | 'push'>): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/**
 * A scope string (space-separated `type:name:actions`) as a set of `type:name:action` atoms, so
 * that a token granted for `pull,push` serves a later `pull`. The name may contain colons (a
 * registry host with a port), so type is the first field and actions the last.
 */
export function scopeAtoms(scopes: readonly string[]): Set<string> {
  const atoms = new Set<string>();
  for (const scope of scopes.flatMap((s) => s.split(/\s+/)).filter(Boolean)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last === first) {
      atoms.add(scope);
      continue;
    }
    const prefix = scope.slice(0, last);
    for (const action of scope.slice(last + 1).split(',')) atoms.add(`${prefix}:${action}`);
  }
  return atoms;
}

/** Scopes to ask a token for: ours plus whatever the registry's challenge named, deduplicated. */
export function mergeScopes(wanted: readonly string[], challengeScope: string | undefined): string[] {
  const all = [...wanted, ...(challengeScope ? challengeScope.split(/\s+/) : [])].filter(Boolean);
  return [...new Set(all)];
}

interface CachedToken {
  realm: string;
  service: string;
  atoms: Set<string>;
  token: string;
  expiresAt: number;
}

/** Bearer tokens per realm/service, reused for any request whose scopes they cover, until expiry. */
export class TokenCache {
  private readonly tokens: CachedToken[] = [];
  constructor(private readonly now: () => number = Date.now) {}

  get(realm: string, service: string | undefined, scopes: readonly string[]): string | undefined {
    const wanted = scopeAtoms(scopes);
    const fresh = this.now();
    const hit = this.tokens.find(
      (t) => t.realm === realm && t.service === (service ?? '') && t.expiresAt > fresh && [...wanted].every((a) => t.atoms.has(a)),
    );
    return hit?.token;
  }

  /** expiresInSeconds defaults to 60, the spec's minimum; a margin keeps us clear of the edge. */
  put(realm: string, service: string | undefined, scopes: readonly string[], token: string, expiresInSeconds = 60): void {
    this.forget(token);
    const lifetimeMs = Math.max(expiresInSeconds - 10, 1) * 1000;
    this.tokens.push({ realm, service: service ?? '', atoms: scopeAtoms(scopes), token, expiresAt: this.now() + lifetimeMs });
  }

  forget(token: string): void {
    const at = this.tokens.findIndex((t) => t.token === token);
    if (at >= 0) this.tokens.splice(at, 1);
  }
}
