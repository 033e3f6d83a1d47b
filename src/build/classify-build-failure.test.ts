import { buildFailedError, classifyBuildFailure } from './classify-build-failure';
import { ExitCode } from '../errors';

// Outputs as go 1.2x prints them (the tail of bin/build's output).
const cases: Array<[string, string, string, number]> = [
  [
    'a setting the buildpack cannot apply',
    'Error: BP_KEEP_FILES=[: glob "[" has an unterminated [...] class. Globs are matched like Go\'s filepath.Match',
    'setting',
    ExitCode.BuildFailed,
  ],
  [
    'TLS trust',
    'go: example.com/mod@v1.0.0: Get "https://127.0.0.1:8443/example.com/mod/@v/v1.0.0.info": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    'tls',
    ExitCode.BuildTlsUntrusted,
  ],
  [
    'DNS',
    'go: example.com/mod@v1.0.0: Get "https://nonexistent.invalid/example.com/mod/@v/v1.0.0.mod": dial tcp: lookup nonexistent.invalid on 127.0.0.11:53: no such host',
    'network',
    ExitCode.BuildFetchFailed,
  ],
  [
    'connection refused',
    'go: example.com/mod@v1.0.0: Get "http://127.0.0.1:9/example.com/mod/@v/v1.0.0.mod": dial tcp 127.0.0.1:9: connect: connection refused',
    'network',
    ExitCode.BuildFetchFailed,
  ],
  ['proxy', 'go: Get "https://proxy.golang.org/x/@v/list": proxyconnect tcp: dial tcp 10.0.0.1:3128: i/o timeout', 'network', ExitCode.BuildFetchFailed],
  [
    'auth (git prompt)',
    "go: github.com/acme/private@v1.2.3: invalid version: git ls-remote -q origin in /x: exit status 128:\n\tfatal: could not read Username for 'https://github.com': terminal prompts disabled",
    'auth',
    ExitCode.BuildFetchFailed,
  ],
  ['auth (proxy 403)', 'go: example.com/mod@v1.0.0: reading https://goproxy.example/example.com/mod/@v/v1.0.0.mod: 403 Forbidden', 'auth', ExitCode.BuildFetchFailed],
  [
    'toolchain download refused by GOPROXY=off',
    'go: golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64: module lookup disabled by GOPROXY=off\nError: cannot download the Go toolchain go1.27.0 for BP_GO_VERSION=1.27.0 (the builder has go1.26.8): GOPROXY=off did not give golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64 (see go\'s message above)',
    'toolchain',
    ExitCode.BuildFetchFailed,
  ],
  [
    'toolchain missing on a file proxy',
    'go: golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64: reading file:///p/golang.org/toolchain/@v/v0.0.1-go1.27.0.linux-amd64.info: no such file or directory\nError: cannot download the Go toolchain go1.27.0 for go.mod says go 1.27.0 (the builder has go1.26.8): GOPROXY=file:///p did not give golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64 (see go\'s message above)',
    'toolchain',
    ExitCode.BuildFetchFailed,
  ],
  [
    'no toolchain release on GOPROXY matches a BP_GO_VERSION range',
    'Error: cannot download the Go toolchain for BP_GO_VERSION=1.30.* (the builder has go1.26.8): GOPROXY lists no Go release matching 1.30.* for linux/amd64',
    'toolchain',
    ExitCode.BuildFetchFailed,
  ],
  [
    'TLS trust while downloading a toolchain stays a TLS failure',
    'go: golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64: Get "https://proxy.example/golang.org/toolchain/@v/v0.0.1-go1.27.0.linux-amd64.info": tls: failed to verify certificate: x509: certificate signed by unknown authority\nError: cannot download the Go toolchain go1.27.0 for BP_GO_VERSION=1.27.0 (the builder has go1.26.8): GOPROXY=https://proxy.example did not give golang.org/toolchain@v0.0.1-go1.27.0.linux-amd64',
    'tls',
    ExitCode.BuildTlsUntrusted,
  ],
  ['missing version (404)', 'go: example.com/mod@v9.9.9: reading http://127.0.0.1:8080/example.com/mod/@v/v9.9.9.info: 404 Not Found', 'missing-module', ExitCode.BuildFetchFailed],
  ['unknown revision', 'go: github.com/acme/x@v0.0.0-2020: invalid version: unknown revision 0123abcd', 'missing-module', ExitCode.BuildFetchFailed],
  ['gone (410)', 'go: example.com/old@v1.0.0: reading https://proxy.golang.org/example.com/old/@v/v1.0.0.mod: 410 Gone', 'missing-module', ExitCode.BuildFetchFailed],
  ['missing in a file:// proxy', 'main.go:7:2: example.com/quote@v1.0.0: reading file:///nonexistent/example.com/quote/@v/v1.0.0.zip: no such file or directory', 'missing-module', ExitCode.BuildFetchFailed],
  ['offline (GOPROXY=off)', 'main.go:7:2: example.com/quote@v1.0.0: module lookup disabled by GOPROXY=off', 'network', ExitCode.BuildFetchFailed],
  ['compile error', '# example.com/app\n./main.go:7:2: undefined: fmt.Printx\n', 'compile', ExitCode.BuildFailed],
  ['out of disk', 'go: writing go.sum: write /layers/gocache/x: no space left on device', 'disk', ExitCode.BuildResources],
  ['out of memory', 'go build example.com/app: /usr/local/go/pkg/tool/linux_amd64/compile: signal: killed', 'memory', ExitCode.BuildResources],
  ['anything else', 'gobuild-cnb/go: BP_GO_TARGETS=./nope: no such directory', 'other', ExitCode.BuildFailed],
];

describe('classifyBuildFailure', () => {
  it.each(cases)('%s', (_name, output, kind, code) => {
    const failure = classifyBuildFailure(output);
    expect({ kind: failure.kind, code: failure.code }).toEqual({ kind, code });
    expect(failure.hint.length).toBeGreaterThan(20);
  });

  it('never gives a network failure the compiler hint', () => {
    const output = '# example.com/app\n./main.go:3:8: no required module provides package example.com/mod; dial tcp: lookup x: no such host';
    expect(classifyBuildFailure(output).hint).not.toMatch(/compiler/);
  });

  it('makes an error with the class exit code, the bin/build exit code and the platform label', () => {
    const err = buildFailedError('x509: certificate signed by unknown authority', 1, ' for linux/arm64');
    expect(err.code).toBe(ExitCode.BuildTlsUntrusted);
    expect(err.message).toBe("fetching Go modules failed: the server's TLS certificate is not trusted in the builder (bin/build exited with 1) for linux/arm64");
    expect(err.hint).toMatch(/--ca-certs/);
  });

  it('names the toolchain that could not be downloaded and says where it must come from, not to fix go.mod modules', () => {
    const failure = classifyBuildFailure(String(cases.find((c) => c[0] === 'toolchain missing on a file proxy')?.[1]));
    expect(failure.message).toBe('the Go toolchain go1.27.0 could not be downloaded');
    expect(failure.hint).toMatch(/golang\.org\/toolchain/);
    expect(failure.hint).toMatch(/--builder golang:<version>-bookworm/);
    expect(classifyBuildFailure('Error: cannot download the Go toolchain for BP_GO_VERSION=1.30.* (x)').message).toBe(
      'the Go toolchain the app needs could not be downloaded',
    );
  });

  it('names the setting the buildpack could not apply', () => {
    const failure = classifyBuildFailure('gobuild-cnb/go 0.1.0\nError: BP_KEEP_FILES=[: glob "[" has an unterminated [...] class\n');
    expect(failure.message).toBe('BP_KEEP_FILES cannot be applied');
    expect(failure.hint).not.toMatch(/compiler/);
  });

  it("names the host whose certificate is not trusted, and says to give its CA with --ca-certs", () => {
    const failure = classifyBuildFailure(
      'go: github.com/gorilla/mux@v1.7.4: Get "https://proxy.golang.org/github.com/gorilla/mux/@v/v1.7.4.mod": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    );
    expect(failure.message).toBe("fetching Go modules failed: proxy.golang.org's TLS certificate is not trusted in the builder");
    expect(failure.hint).toMatch(/--ca-certs <file.pem>/);
  });

  it('names the host that asked for credentials, and says how to give them (--netrc, a binding)', () => {
    const failure = classifyBuildFailure('go: example.com/quote@v1.0.0: reading https://127.0.0.1:8443/example.com/quote/@v/v1.0.0.info: 401 Unauthorized\n');
    expect(failure.kind).toBe('auth');
    expect(failure.message).toBe("fetching Go modules failed: 127.0.0.1:8443 asked for credentials");
    expect(failure.hint).toMatch(/--netrc <file>/);
    expect(failure.hint).toMatch(/--volume <dir>:\/platform\/bindings\/<name>/);
  });
});
