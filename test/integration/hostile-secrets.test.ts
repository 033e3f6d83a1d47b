/**
 * Secrets stay secret even when referenced (issue #10 item 5): a secret -e variable referenced
 * from BP_GO_BUILD_LDFLAGS and a password in GOPROXY's userinfo appear in no output (--verbose,
 * --json, cache reasons), no label, no history and no layer but the binary's: what the compiler
 * bakes into the binary is the user's choice, and the binary does get the value.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describeWithDocker } from '../helpers/docker';
import { docker, REPO_ROOT, removeImage, runCli, TEST_BUILDER, type CliResult } from '../helpers/cli';
import { expectNothingLeft, expectSecretNowhere, expectWarmBuild, privateTmp, type PrivateTmp } from '../helpers/hostile';

const SCOPE = 'hostile-secrets';
const VOLUME = `gobuild-cnb-test-${SCOPE}-cache`;
const TAG = `gobuild-cnb-test/${SCOPE}:it`;
const HELLO = join(REPO_ROOT, 'fixtures', 'hello');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

/**
 * The image as `docker save` gives it, unpacked: the secret is in exactly one file, the layer
 * holding the app binary (the user's choice); never in the config (labels, history, env).
 */
function expectSecretOnlyInTheBinaryLayer(image: string, secret: string, binary: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'gobuild-cnb-hostile-secrets-save-'));
  try {
    execFileSync('sh', ['-c', 'docker save "$1" | tar -x -C "$2"', 'sh', image, dir], { timeout: 120_000 });
    const holding = filesUnder(dir).filter((path) => readFileSync(path).includes(Buffer.from(secret)));
    expect(holding).toHaveLength(1);
    const listing = execFileSync('tar', ['-tf', holding[0]], { encoding: 'utf8', timeout: 60_000 }).split('\n');
    expect({ file: relative(dir, holding[0]), hasBinary: listing.some((name) => name.endsWith(`/${binary}`)) }).toMatchObject({ hasBinary: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describeWithDocker('hostile secrets: referenced secrets never show', () => {
  jest.setTimeout(600_000);
  const secret = `sekrit-${randomBytes(8).toString('hex')}`;
  const proxyPassword = `proxy-pw-${randomBytes(8).toString('hex')}`;
  let tmp: PrivateTmp;

  const build = (ldflags: string, extra: string[] = []): Promise<CliResult> =>
    runCli(
      [
        'build', HELLO, '-t', TAG, '--builder', TEST_BUILDER, '--pull-policy', 'never', '--cache-volume', VOLUME,
        '-e', `MY_SECRET=${secret}`,
        '-e', `BP_GO_BUILD_LDFLAGS=${ldflags}`,
        // hello has no dependencies: Go never asks this proxy; ldflags reference it (-X of a
        // variable hello does not have: the linker ignores it), so the URL is in the output.
        '-e', `GOPROXY=https://builder:${proxyPassword}@proxy.invalid/,off`,
        '--verbose', '--json', ...extra,
      ],
      { env: tmp.env },
    );

  beforeAll(() => (tmp = privateTmp()));
  afterAll(() => {
    tmp.cleanup();
    removeImage(TAG);
    docker(['volume', 'rm', '-f', VOLUME]);
  });

  it('a real build: no secret in --verbose, --json, labels or history; the binary gets the value', async () => {
    const result = await build('-X main.version=$MY_SECRET -X main.proxy=$GOPROXY');
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
    for (const value of [secret, proxyPassword]) expectSecretNowhere(value, { run: result });
    // The redaction is visible where the values would have been (not just missing output).
    expect(result.stderr).toMatch(/Running: go build .*main\.version=(\[redacted:MY_SECRET\]|\$MY_SECRET)/);
    expect(result.stderr).toMatch(/main\.proxy=(https:\/\/\[redacted\]@proxy\.invalid\/|\$GOPROXY)/);

    const label = docker(['image', 'inspect', '--format', '{{index .Config.Labels "io.buildpacks.lifecycle.metadata"}}', TAG]);
    expect(label).toContain('buildpacks');
    for (const value of [secret, proxyPassword]) {
      expect(docker(['image', 'inspect', TAG]).includes(value)).toBe(false);
      expect(docker(['history', '--no-trunc', TAG]).includes(value)).toBe(false);
    }
    expectSecretOnlyInTheBinaryLayer(TAG, secret, 'hello');
    expectSecretNowhere(proxyPassword, { image: TAG });

    // The user asked for the value in the binary: it is there.
    expect(docker(['run', '--rm', TAG, '--version'])).toBe(secret);
    expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
  });

  it('the --json cache reasons name changed build flags without the secret, and an unchanged secret is no change', async () => {
    const changed = await build('-s -X main.version=$MY_SECRET -X main.proxy=$GOPROXY');
    expect({ code: changed.code, stderr: changed.code === 0 ? '' : changed.stderr }).toEqual({ code: 0, stderr: '' });
    const json = JSON.parse(changed.stdout) as { cache: { reasons: string[] } };
    // The flags as the buildpack records them: expanded and redacted, or as written (unexpanded).
    const secretRef = String.raw`(\[redacted:MY_SECRET\]|\$MY_SECRET)`;
    const proxyRef = String.raw`(https://\[redacted\]@proxy|\$GOPROXY)`;
    expect(json.cache.reasons).toEqual([expect.stringMatching(new RegExp(`^build flags changed \\(.*${secretRef}.* -> .*-s .*${secretRef}.*${proxyRef}`))]);
    for (const value of [secret, proxyPassword]) expectSecretNowhere(value, { run: changed });

    const again = await build('-s -X main.version=$MY_SECRET -X main.proxy=$GOPROXY');
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { cache: { reasons: string[] } }).cache.reasons).toEqual([]);
    expectSecretNowhere(secret, { run: again });
    expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
  });

  it('a failing build shows no secret in the error, its details or the streamed output', async () => {
    // An ldflags value go build rejects: the command line (with the secret) is in the error output.
    const failed = await build('-X main.version=$MY_SECRET -no-such-linker-flag');
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/^ERROR: /m);
    expect(failed.stderr).toMatch(/^hint: /m);
    for (const value of [secret, proxyPassword]) expectSecretNowhere(value, { run: failed });
    expect(failed.stderr).toMatch(/Running: go build .*main\.version=(\[redacted:MY_SECRET\]|\$MY_SECRET) -no-such-linker-flag/);
    expectNothingLeft({ tmp, volumePrefix: `gobuild-cnb-test-${SCOPE}`, allowedVolumes: [VOLUME] });
    // The failed build did not damage the shared cache.
    await expectWarmBuild(HELLO, TAG, VOLUME, tmp.env);
    expect(tmp.left()).toEqual([]);
  });
});
