/**
 * bin/detect, under dash and under busybox sh (with a busybox-only PATH): which apps pass,
 * the one-line reason of a 100, and configuration mistakes as errors (exit 1), not a 100.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, Shell } from './sandbox';

const shells: Shell[] = ['sh', 'busybox'];

describe.each(shells)('bin/detect under %s', (shell) => {
  const sandboxes: Sandbox[] = [];
  const fixture = (name: string) => {
    const sandbox = Sandbox.fromFixture(name, { sharedCache: false });
    sandboxes.push(sandbox);
    return sandbox;
  };
  const files = (tree: Record<string, string>) => {
    const sandbox = Sandbox.fromFiles(tree, { sharedCache: false });
    sandboxes.push(sandbox);
    return sandbox;
  };
  afterAll(() => sandboxes.forEach((s) => s.cleanup()));

  test.each([
    ['go.mod', 'v2-module'],
    ['go.work without a root go.mod', 'workspace'],
    ['*.go at the root without go.mod', 'gopath-app'],
    ['main packages under cmd/', 'multi-cmd'],
  ])('passes with %s', (_what, name) => {
    const result = fixture(name).detect({}, shell);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('passes with a main package under cmd/ and nothing at the root', () => {
    const result = files({ 'cmd/tool/main.go': 'package main\n\nfunc main() {}\n', 'README.md': 'x' }).detect({}, shell);
    expect(result.code).toBe(0);
  });

  test('fails with 100 and one line saying what it looked for and where', () => {
    const sandbox = fixture('no-go');
    const result = sandbox.detect({}, shell);
    expect(result.code).toBe(100);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(sandbox.app);
    expect(lines[0]).toMatch(/go\.mod.*go\.work.*\*\.go.*cmd\//);
  });

  test('a library under cmd/ is not an app', () => {
    const result = files({ 'cmd/lib/lib.go': 'package lib\n' }).detect({}, shell);
    expect(result.code).toBe(100);
  });

  test('BP_GO_WORKDIR moves detection into a subdirectory', () => {
    const sandbox = fixture('monorepo');
    const atRoot = sandbox.detect({}, shell);
    expect(atRoot.code).toBe(100);
    const inWorkdir = sandbox.detect({ BP_GO_WORKDIR: 'services/svc' }, shell);
    expect(inWorkdir.stderr).toBe('');
    expect(inWorkdir.code).toBe(0);
  });

  test('the 100 message names BP_GO_WORKDIR when it is set', () => {
    const sandbox = fixture('monorepo');
    const result = sandbox.detect({ BP_GO_WORKDIR: 'services' }, shell);
    expect(result.code).toBe(100);
    expect(result.stderr).toContain(`${join(sandbox.app, 'services')} (BP_GO_WORKDIR)`);
  });

  test('explicit BP_GO_TARGETS are enough to detect', () => {
    const sandbox = fixture('monorepo');
    writeFileSync(join(sandbox.app, 'services', 'tool.go'), 'package main\n\nfunc main() {}\n');
    expect(sandbox.detect({ BP_GO_TARGETS: './services' }, shell).code).toBe(0);
  });

  test.each([
    ['a missing BP_GO_WORKDIR', { BP_GO_WORKDIR: 'nope' }, /BP_GO_WORKDIR=nope: no such directory/],
    ['an unknown target', { BP_GO_TARGETS: './cmd/api:./cmd/nope' }, /BP_GO_TARGETS entry '\.\/cmd\/nope': no such directory/],
    ['a target without Go files', { BP_GO_TARGETS: 'cmd' }, /BP_GO_TARGETS entry 'cmd': no \.go files/],
    ['a target that is a library', { BP_GO_TARGETS: 'internal/greeting' }, /'internal\/greeting': not a command/],
    ['an absolute target', { BP_GO_TARGETS: '/etc' }, /must be relative/],
    ['a target outside the app', { BP_GO_TARGETS: '../x' }, /outside the app/],
    ['unparsable BP_GO_BUILD_FLAGS', { BP_GO_BUILD_FLAGS: "-ldflags='-s -w" }, /BP_GO_BUILD_FLAGS cannot be split.*unterminated single quote/],
    ['unparsable BP_GO_BUILD_LDFLAGS', { BP_GO_BUILD_LDFLAGS: '-X "a' }, /BP_GO_BUILD_LDFLAGS cannot be parsed/],
  ])('%s is an error (exit 1), not a detect failure', (_what, env, message) => {
    const result = fixture('multi-cmd').detect(env, shell);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});
