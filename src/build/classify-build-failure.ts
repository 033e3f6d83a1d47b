/**
 * Why did `bin/build` fail? Read from the tail of its output (go's own messages), so the user
 * gets the hint for the failure they had: a TLS or DNS failure is not a compile error. Pure: the
 * build calls it with PhaseResult.output and throws the error it returns.
 */
import { BuildFailedError, ExitCode, type ExitCodeValue } from '../errors';

export type BuildFailureClass = 'setting' | 'tls' | 'auth' | 'toolchain' | 'missing-module' | 'network' | 'disk' | 'memory' | 'compile' | 'other';

interface Rule {
  kind: BuildFailureClass;
  code: ExitCodeValue;
  pattern: RegExp;
  message: string;
  hint: string;
}

/** First match wins: the specific fetch failures before the generic network ones, resources before compile. */
const RULES: readonly Rule[] = [
  {
    kind: 'setting',
    code: ExitCode.BuildFailed,
    // The buildpack names the setting it could not apply: `Error: BP_KEEP_FILES=[: glob "[" ...`.
    pattern: /^Error: (BP_[A-Z_]+)\b/m,
    message: 'a buildpack setting cannot be applied',
    hint: 'Fix the setting the buildpack names above (docs/buildpack.md lists each and its syntax), or unset it.',
  },
  {
    kind: 'disk',
    code: ExitCode.BuildResources,
    pattern: /no space left on device|disk quota exceeded/i,
    message: 'the build ran out of disk space',
    hint: 'Free space for the Docker engine (docker system df shows what uses it) or clear this build cache with --clear-cache.',
  },
  {
    kind: 'memory',
    code: ExitCode.BuildResources,
    pattern: /signal: killed|exit status 137|\bOOM\b|out of memory|cannot allocate memory/i,
    message: 'the build ran out of memory (the compiler was killed)',
    hint: 'Give the Docker engine more memory, or build fewer packages at once (e.g. -e BP_GO_BUILD_FLAGS=-p=1).',
  },
  {
    kind: 'tls',
    code: ExitCode.BuildTlsUntrusted,
    pattern: /x509:|certificate signed by unknown authority|tls: failed to verify|certificate is not valid|certificate has expired/i,
    message: "fetching Go modules failed: the server's TLS certificate is not trusted in the builder",
    hint:
      'Give the CA that signed it with --ca-certs <file.pem>, or install it on this host (Debian: copy it to ' +
      '/usr/local/share/ca-certificates/ and run update-ca-certificates): the build trusts what the host trusts. See docs/networks.md.',
  },
  {
    kind: 'auth',
    code: ExitCode.BuildFetchFailed,
    pattern: /terminal prompts disabled|\b401 Unauthorized\b|\b403 Forbidden\b|reading .*: (401|403)\b|authentication required|could not read Username/i,
    message: 'fetching Go modules failed: the server asked for credentials',
    hint:
      'Give the build credentials: --netrc <file> (a netrc with `machine <host[:port]> login <user> password <token>`; go sends it over HTTPS only) ' +
      'or a service binding (--volume <dir>:/platform/bindings/<name>, type netrc or git-credentials), and set GOPRIVATE or GONOSUMDB ' +
      'for the private modules. Credentials are never logged or put in the image. See docs/networks.md "Private modules".',
  },
  {
    kind: 'toolchain',
    code: ExitCode.BuildFetchFailed,
    // The buildpack's own line once go could not list or download golang.org/toolchain (after the
    // TLS and auth rules: those hints are about the proxy's trust and credentials, not the version).
    pattern: /^Error: cannot download the Go toolchain\b/m,
    message: 'the Go toolchain the app needs could not be downloaded',
    hint:
      "The builder's Go is older than BP_GO_VERSION or go.mod's go/toolchain line asks (see above). Let GOPROXY reach a proxy " +
      'that serves golang.org/toolchain (proxy.golang.org does; offline: a file:// GOPROXY holding it), or build with a builder ' +
      'that has that Go (--builder golang:<version>-bookworm), or change BP_GO_VERSION / the toolchain line. See docs/buildpack.md.',
  },
  {
    kind: 'missing-module',
    code: ExitCode.BuildFetchFailed,
    pattern: /unknown revision|invalid version|reading .*: (404|410)\b|\b404 Not Found\b|\b410 Gone\b|no matching versions for query|cannot find module providing package|module .* not found|no required module provides package|@v\/\S+: no such file or directory/i,
    message: 'fetching Go modules failed: a module or version does not exist',
    hint: 'Check the module path and version in go.mod (go get <module>@<version> locally, then go mod tidy), and that GOPROXY serves it.',
  },
  {
    kind: 'network',
    code: ExitCode.BuildFetchFailed,
    pattern: /dial tcp|no such host|connection refused|i\/o timeout|network is unreachable|proxyconnect|TLS handshake timeout|server misbehaving|temporary failure in name resolution|connection reset by peer|module lookup disabled by GOPROXY=off/i,
    message: 'fetching Go modules failed: the network, DNS or proxy did not answer',
    hint: 'Check GOPROXY / HTTPS_PROXY and the network of the build container (--network); for an offline build vendor the modules (go mod vendor) and use --network none.',
  },
  {
    kind: 'compile',
    code: ExitCode.BuildFailed,
    pattern: /^\S+\.go:\d+:\d+: /m,
    message: 'the Go code did not compile',
    hint: 'The compiler messages above say what to fix (file:line:column).',
  },
];

export interface BuildFailure {
  kind: BuildFailureClass;
  code: ExitCodeValue;
  message: string;
  hint: string;
}

/** The host whose certificate failed, from go's `Get "https://host/...": tls: ...` or `x509: certificate is valid for ..., not host`. */
export function untrustedHost(output: string): string | undefined {
  const line = output.split('\n').find((l) => /x509:|tls: failed to verify/.test(l)) ?? '';
  return /"https:\/\/([^/"]+)/.exec(line)?.[1] ?? /\bnot ([\w.-]+)$/.exec(line.trim())?.[1];
}

/** The host that asked for credentials, from go's `reading https://host/...: 401 Unauthorized`. */
export function unauthorizedHost(output: string): string | undefined {
  const line = output.split('\n').find((l) => /\b(401|403)\b/.test(l)) ?? '';
  return /(?:reading |")https?:\/\/(?:[^@/"\s]*@)?([^/"\s]+)/.exec(line)?.[1];
}

export function classifyBuildFailure(output: string): BuildFailure {
  for (const rule of RULES) {
    if (!rule.pattern.test(output)) continue;
    const host = rule.kind === 'tls' ? untrustedHost(output) : rule.kind === 'auth' ? unauthorizedHost(output) : undefined;
    const setting = rule.kind === 'setting' ? rule.pattern.exec(output)?.[1] : undefined;
    const toolchain = rule.kind === 'toolchain' ? /^Error: cannot download the Go toolchain (go\d[\w.]*)/m.exec(output)?.[1] : undefined;
    const message = host
      ? rule.message.replace(/the server('s)?/, (_all, possessive?: string) => `${host}${possessive ?? ''}`)
      : setting
        ? `${setting} cannot be applied`
        : toolchain
          ? `the Go toolchain ${toolchain} could not be downloaded`
          : rule.message;
    return { kind: rule.kind, code: rule.code, message, hint: rule.hint };
  }
  return {
    kind: 'other',
    code: ExitCode.BuildFailed,
    message: 'the build failed',
    hint: "The buildpack's output above says what failed. Rerun with --verbose for every command.",
  };
}

/** The error for a failed bin/build: its class's message, exit code and hint. */
export function buildFailedError(output: string, exitCode: number, label = ''): BuildFailedError {
  const failure = classifyBuildFailure(output);
  return new BuildFailedError(`${failure.message} (bin/build exited with ${exitCode})${label}`, { hint: failure.hint }, failure.code);
}
