import { basicAuthorization, mergeScopes, parseChallenge, repositoryScope, scopeAtoms, TokenCache } from './auth';

describe('parseChallenge', () => {
  it('reads a Bearer challenge (Docker Hub style)', () => {
    expect(
      parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"'),
    ).toEqual({ scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' });
  });

  it('accepts spaces, bare tokens, escapes, any case, and several scopes in one value', () => {
    expect(parseChallenge('bearer  realm = "https://r/t?x=\\"y\\"" , service=svc, scope="repository:a:pull repository:b:pull"')).toEqual({
      scheme: 'bearer',
      realm: 'https://r/t?x="y"',
      service: 'svc',
      scope: 'repository:a:pull repository:b:pull',
    });
  });

  it('reads a Basic challenge and ignores what it cannot use', () => {
    expect(parseChallenge('Basic realm="gobuild-cnb-registry"')).toEqual({ scheme: 'basic', realm: 'gobuild-cnb-registry' });
    expect(parseChallenge('Bearer service="no-realm"')).toBeUndefined();
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});

describe('scopes', () => {
  it('splits scopes into atoms so pull,push covers pull; names may hold a port', () => {
    expect([...scopeAtoms([repositoryScope('a/b', ['pull', 'push'])])]).toEqual(['repository:a/b:pull', 'repository:a/b:push']);
    expect([...scopeAtoms(['repository:host:5000/a:pull'])]).toEqual(['repository:host:5000/a:pull']);
  });

  it('merges our scopes with the challenge scope, without duplicates', () => {
    expect(mergeScopes(['repository:a:pull,push'], 'repository:a:pull,push repository:b:pull')).toEqual(['repository:a:pull,push', 'repository:b:pull']);
    expect(mergeScopes(['repository:a:pull'], undefined)).toEqual(['repository:a:pull']);
  });
});

describe('TokenCache', () => {
  it('reuses a token for any scope it covers, per realm and service, until it expires', () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    cache.put('https://auth/token', 'svc', ['repository:a:pull,push'], 'T1', 300);
    expect(cache.get('https://auth/token', 'svc', ['repository:a:pull'])).toBe('T1');
    expect(cache.get('https://auth/token', 'svc', ['repository:a:pull', 'repository:b:pull'])).toBeUndefined();
    expect(cache.get('https://auth/token', 'other', ['repository:a:pull'])).toBeUndefined();
    now += 289_000;
    expect(cache.get('https://auth/token', 'svc', ['repository:a:push'])).toBe('T1');
    now += 2_000; // within 10 s of expiry: fetch a fresh one
    expect(cache.get('https://auth/token', 'svc', ['repository:a:push'])).toBeUndefined();
  });

  it('forgets a token the registry refused', () => {
    const cache = new TokenCache(() => 0);
    cache.put('r', undefined, ['repository:a:pull'], 'T');
    cache.forget('T');
    expect(cache.get('r', undefined, ['repository:a:pull'])).toBeUndefined();
  });
});

it('basicAuthorization encodes user:password', () => {
  expect(basicAuthorization('alice', 'p:ss')).toBe(`Basic ${Buffer.from('alice:p:ss').toString('base64')}`);
});
