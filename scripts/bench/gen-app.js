'use strict';
/**
 * Generators for the benchmark's Go apps, written into directories the caller owns (temp dirs).
 *
 * - generateMidApp: a mid-size module with dozens of packages (generic code, so compiling takes
 *   seconds) and module dependencies: example.com/quote from the fixture proxy in
 *   fixtures/goproxy, plus two small modules served from a proxy generated next to it. The app
 *   is then vendored (`go mod vendor`, offline, GOPROXY=file://...), because the builds run in
 *   containers where a host file:// proxy does not exist: every tool builds the same vendor/.
 * - generateEmbedApp: a main package that //go:embed's an incompressible file of a given size,
 *   to measure the CLI's memory while it exports a big layer.
 * - editOneLine: the "one-line change" scenario's edit.
 *
 * Usage as a script: node scripts/bench/gen-app.js <dir> [packages]
 */
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE_PROXY = path.join(REPO_ROOT, 'fixtures', 'goproxy');
const MODULE = 'example.com/benchapp';
const GO_DIRECTIVE = '1.22';
/** The line editOneLine rewrites; one per app, in a package in the middle of the import graph. */
const EDIT_MARKER = '// bench:edit-line';

/** Go env that keeps every go command offline: only file:// proxies, no checksum database. */
function offlineGoEnv(proxyUrls, modCache) {
  return {
    ...process.env,
    GOPROXY: proxyUrls.join(','),
    GOFLAGS: '-mod=mod',
    GONOSUMDB: 'example.com',
    GONOSUMCHECK: '1',
    GOSUMDB: 'off',
    GOTOOLCHAIN: 'local',
    GOMODCACHE: modCache,
  };
}

function writeFile(file, content) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Small extra modules for the generated proxy: name -> { file: source }. */
const EXTRA_MODULES = {
  'example.com/benchkit/mathx': {
    'mathx.go': `// Package mathx: generic numeric helpers for the benchmark app.
package mathx

// Number is any built-in integer or float type.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// Sum adds up xs.
func Sum[T Number](xs []T) T {
	var total T
	for _, x := range xs {
		total += x
	}
	return total
}

// Clamp keeps x within [lo, hi].
func Clamp[T Number](x, lo, hi T) T {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
`,
  },
  'example.com/benchkit/strs': {
    'strs.go': `// Package strs: string helpers for the benchmark app.
package strs

import "strings"

// Title upper-cases the first letter of each word.
func Title(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}
`,
  },
};

/** Writes a file-system module proxy (the layout `go` reads from GOPROXY=file://) of EXTRA_MODULES. */
function writeExtraProxy(proxyDir, workDir) {
  const version = 'v1.0.0';
  for (const [module, files] of Object.entries(EXTRA_MODULES)) {
    const goMod = `module ${module}\n\ngo ${GO_DIRECTIVE}\n`;
    const zipRoot = path.join(workDir, 'zip', module.replace(/\//g, '_'));
    const inZip = `${module}@${version}`;
    writeFile(path.join(zipRoot, inZip, 'go.mod'), goMod);
    for (const [name, source] of Object.entries(files)) writeFile(path.join(zipRoot, inZip, name), source);
    const versionDir = path.join(proxyDir, module, '@v');
    fs.mkdirSync(versionDir, { recursive: true });
    // A module zip holds <module>@<version>/<file> entries and no directory entries.
    execFileSync('zip', ['-q', '-X', '-D', '-r', path.join(versionDir, `${version}.zip`), inZip], { cwd: zipRoot });
    fs.writeFileSync(path.join(versionDir, `${version}.mod`), goMod);
    fs.writeFileSync(path.join(versionDir, `${version}.info`), `{"Version":"${version}","Time":"2024-01-01T00:00:00Z"}\n`);
    fs.writeFileSync(path.join(versionDir, 'list'), `${version}\n`);
  }
}

function pkgName(i) {
  return `p${String(i).padStart(2, '0')}`;
}

/** The packages package i imports: a layered DAG, so compiling has both depth and parallelism. */
function pkgDeps(i) {
  return [...new Set([i - 1, i - 4, i - 9].filter((d) => d >= 0))];
}

/** Stdlib imports spread over the packages so a cold build compiles a realistic part of the stdlib. */
const STDLIB_BY_PKG = [
  ['encoding/json', 'sort'],
  ['net/http', 'io'],
  ['text/template', 'bytes'],
  ['crypto/sha256', 'encoding/hex'],
  ['regexp', 'strings'],
  ['compress/gzip', 'bytes'],
  ['encoding/xml', 'strings'],
  ['math/big', 'strconv'],
];

function typesFile(name, i) {
  return `package ${name}

import "sort"

// Pair is a key and a value.
type Pair[K comparable, V any] struct {
	Key   K
	Value V
}

// OrderedMap keeps insertion order.
type OrderedMap[K comparable, V any] struct {
	keys  []K
	items map[K]V
}

// NewOrderedMap makes an empty map.
func NewOrderedMap[K comparable, V any]() *OrderedMap[K, V] {
	return &OrderedMap[K, V]{items: map[K]V{}}
}

// Set stores v under k.
func (m *OrderedMap[K, V]) Set(k K, v V) {
	if _, ok := m.items[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.items[k] = v
}

// Get returns the value under k.
func (m *OrderedMap[K, V]) Get(k K) (V, bool) {
	v, ok := m.items[k]
	return v, ok
}

// Pairs lists the entries in insertion order.
func (m *OrderedMap[K, V]) Pairs() []Pair[K, V] {
	out := make([]Pair[K, V], 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, Pair[K, V]{k, m.items[k]})
	}
	return out
}

// Map applies f to each element.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// Filter keeps the elements for which keep is true.
func Filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// Reduce folds xs into one value.
func Reduce[T, A any](xs []T, start A, f func(A, T) A) A {
	acc := start
	for _, x := range xs {
		acc = f(acc, x)
	}
	return acc
}

// SortedBy sorts a copy of xs by key.
func SortedBy[T any, K int | int64 | float64 | string](xs []T, key func(T) K) []T {
	out := append([]T(nil), xs...)
	sort.SliceStable(out, func(a, b int) bool { return key(out[a]) < key(out[b]) })
	return out
}

// Tree is a generic binary search tree.
type Tree[K int | int64 | string, V any] struct {
	root *node${i}[K, V]
	size int
}

type node${i}[K int | int64 | string, V any] struct {
	key         K
	value       V
	left, right *node${i}[K, V]
}

// Put inserts or replaces k.
func (t *Tree[K, V]) Put(k K, v V) {
	p := &t.root
	for *p != nil {
		switch {
		case k < (*p).key:
			p = &(*p).left
		case k > (*p).key:
			p = &(*p).right
		default:
			(*p).value = v
			return
		}
	}
	*p = &node${i}[K, V]{key: k, value: v}
	t.size++
}

// Walk visits the entries in key order.
func (t *Tree[K, V]) Walk(visit func(K, V)) {
	var walk func(*node${i}[K, V])
	walk = func(n *node${i}[K, V]) {
		if n == nil {
			return
		}
		walk(n.left)
		visit(n.key, n.value)
		walk(n.right)
	}
	walk(t.root)
}

// Len is the number of entries.
func (t *Tree[K, V]) Len() int { return t.size }
`;
}

function logicFile(name, i, deps) {
  const [stdA, stdB] = STDLIB_BY_PKG[i % STDLIB_BY_PKG.length];
  const depImports = deps.map((d) => `\t"${MODULE}/internal/${pkgName(d)}"`).join('\n');
  // Describe, not Score: calling Score down the DAG would be exponential at run time.
  const depCalls = deps.map((d) => `\ttotal += len(${pkgName(d)}.Describe(seed + ${d}))`).join('\n');
  const stdUse = {
    'encoding/json': 'b, _ := json.Marshal(rec); _ = b; sort.Ints([]int{3, 1, 2})',
    'net/http': '_ = http.StatusOK; _ = io.EOF',
    'text/template': 'var buf bytes.Buffer; _ = template.Must(template.New("x").Parse("{{.Name}}")).Execute(&buf, rec)',
    'crypto/sha256': 'sum := sha256.Sum256([]byte(rec.Name)); _ = hex.EncodeToString(sum[:])',
    regexp: '_ = regexp.MustCompile(`^[a-z]+$`).MatchString(strings.ToLower(rec.Name))',
    'compress/gzip': 'var buf bytes.Buffer; w := gzip.NewWriter(&buf); _, _ = w.Write([]byte(rec.Name)); _ = w.Close()',
    'encoding/xml': 'b, _ := xml.Marshal(rec); _ = strings.TrimSpace(string(b))',
    'math/big': 'n := new(big.Int).SetInt64(int64(rec.ID)); _ = strconv.Itoa(n.BitLen())',
  }[stdA];
  return `package ${name}

import (
	"${stdA}"
	"${stdB}"

	"example.com/benchkit/mathx"
${depImports}
)

// Record is what this package computes with.
type Record struct {
	ID    int
	Name  string
	Score float64
	Tags  []string
}

func describe${i}(rec Record) string {
	${stdUse}
	return rec.Name
}

// Score mixes this package's records with its dependencies' scores.
func Score(seed int) int {
	total := seed
${depCalls}
	recs := make([]Record, 0, 16)
	for j := 0; j < 16; j++ {
		recs = append(recs, Record{ID: j, Name: describe${i}(Record{ID: j, Name: "r"}), Score: float64(j * seed)})
	}
	high := Filter(recs, func(r Record) bool { return r.Score > float64(seed) })
	ids := Map(high, func(r Record) int { return r.ID })
	total += mathx.Sum(ids)
	total += int(Reduce(recs, 0.0, func(acc float64, r Record) float64 { return acc + r.Score }))
	m := NewOrderedMap[string, Record]()
	for _, r := range SortedBy(recs, func(r Record) float64 { return -r.Score }) {
		m.Set(r.Name, r)
	}
	var t Tree[int, string]
	for _, p := range m.Pairs() {
		t.Put(p.Value.ID, p.Key)
	}
	return mathx.Clamp(total+t.Len(), 0, 1<<30)
}
`;
}

function extraFile(name, i, withMarker) {
  const marker = withMarker ? `\tgreeting := "package ${name} says hello" ${EDIT_MARKER}\n` : `\tgreeting := "package ${name} says hello"\n`;
  let cases = '';
  for (let c = 0; c < 48; c++) cases += `\tcase ${c}:\n\t\treturn greeting + " ${c * (i + 1)}"\n`;
  return `package ${name}

import "fmt"

// Describe is a long switch, ordinary code that the compiler has to chew through.
func Describe(n int) string {
${marker}	switch n % 48 {
${cases}	}
	return fmt.Sprint(greeting, n)
}

// Stats is a generic instantiation per package.
func Stats(xs []float64) (lo, hi float64) {
	t := Reduce(xs, Pair[float64, float64]{1e308, -1e308}, func(acc Pair[float64, float64], x float64) Pair[float64, float64] {
		if x < acc.Key {
			acc.Key = x
		}
		if x > acc.Value {
			acc.Value = x
		}
		return acc
	})
	return t.Key, t.Value
}
`;
}

/** Many instantiations of the generic types: each is compiled separately, as in real generic code. */
function instancesFile(name, i) {
  const types = ['int', 'int64', 'string'];
  const values = ['int', 'string', 'Record', '[]byte'];
  let body = '';
  let n = 0;
  for (const k of types) {
    for (const v of values) {
      n++;
      body += `
// Index${n} builds an ordered index of ${k} to ${v}.
func Index${n}(keys []${k}, value func(${k}) ${v}) (*Tree[${k}, ${v}], []Pair[${k}, ${v}]) {
	t := &Tree[${k}, ${v}]{}
	m := NewOrderedMap[${k}, ${v}]()
	for _, key := range Filter(keys, func(x ${k}) bool { return true }) {
		t.Put(key, value(key))
		m.Set(key, value(key))
	}
	var out []Pair[${k}, ${v}]
	t.Walk(func(key ${k}, val ${v}) { out = append(out, Pair[${k}, ${v}]{key, val}) })
	_ = Reduce(m.Pairs(), 0, func(acc int, _ Pair[${k}, ${v}]) int { return acc + ${i} })
	return t, out
}
`;
    }
  }
  return `package ${name}
${body}`;
}

function mainFile(packages) {
  const imports = packages.map((i) => `\t"${MODULE}/internal/${pkgName(i)}"`).join('\n');
  const calls = packages.map((i) => `\ttotal += ${pkgName(i)}.Score(${i}) + len(${pkgName(i)}.Describe(${i}))`).join('\n');
  return `// benchapp is the benchmark's generated mid-size app: an HTTP server on $PORT (default 8080).
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"example.com/benchkit/strs"
	"example.com/quote"
${imports}
)

func main() {
	total := 0
${calls}
	msg := fmt.Sprintf("%s (%s) total=%d", strs.Title("bench app"), quote.Hello(), total)
	if len(os.Args) > 1 && os.Args[1] == "--once" {
		fmt.Println(msg)
		return
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, msg) })
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
`;
}

/**
 * Writes the mid-size app into appDir (which must not exist or be empty) and vendors its
 * dependencies offline. Returns { packages, editFile }.
 */
function generateMidApp(appDir, { packages = 40 } = {}) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gobuild-cnb-bench-gen-'));
  try {
    const extraProxy = path.join(work, 'proxy');
    writeExtraProxy(extraProxy, work);
    const editPkg = Math.floor(packages / 2);
    for (let i = 0; i < packages; i++) {
      const name = pkgName(i);
      const dir = path.join(appDir, 'internal', name);
      writeFile(path.join(dir, 'types.go'), typesFile(name, i));
      writeFile(path.join(dir, 'logic.go'), logicFile(name, i, pkgDeps(i)));
      writeFile(path.join(dir, 'describe.go'), extraFile(name, i, i === editPkg));
      writeFile(path.join(dir, 'instances.go'), instancesFile(name, i));
    }
    writeFile(path.join(appDir, 'main.go'), mainFile([...Array(packages).keys()]));
    writeFile(
      path.join(appDir, 'go.mod'),
      `module ${MODULE}\n\ngo ${GO_DIRECTIVE}\n\nrequire (\n\texample.com/benchkit/mathx v1.0.0\n\texample.com/benchkit/strs v1.0.0\n\texample.com/quote v1.0.0\n)\n`,
    );
    const env = offlineGoEnv([`file://${FIXTURE_PROXY}`, `file://${extraProxy}`], path.join(work, 'modcache'));
    execFileSync('go', ['mod', 'tidy'], { cwd: appDir, env, stdio: 'pipe', timeout: 120_000 });
    execFileSync('go', ['mod', 'vendor'], { cwd: appDir, env, stdio: 'pipe', timeout: 120_000 });
    return { packages, editFile: path.join(appDir, 'internal', pkgName(editPkg), 'describe.go') };
  } finally {
    // The module cache is read-only by design; make it removable.
    execFileSync('chmod', ['-R', 'u+w', work]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Writes a main package embedding `bytes` of random (incompressible) data. */
function generateEmbedApp(appDir, bytes) {
  fs.mkdirSync(appDir, { recursive: true });
  writeFile(path.join(appDir, 'go.mod'), `module example.com/bigembed\n\ngo ${GO_DIRECTIVE}\n`);
  writeFile(
    path.join(appDir, 'main.go'),
    `// bigembed carries a large random blob, to measure exporting a big layer.
package main

import (
	_ "embed"
	"fmt"
)

//go:embed blob.bin
var blob []byte

func main() { fmt.Println(len(blob)) }
`,
  );
  const fd = fs.openSync(path.join(appDir, 'blob.bin'), 'w');
  try {
    const chunk = 4 << 20;
    for (let written = 0; written < bytes; written += chunk) {
      fs.writeSync(fd, crypto.randomBytes(Math.min(chunk, bytes - written)));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The one-line change: in the first line of `file` that contains `marker`, appends a new token
 * to the line's first string literal, so the package recompiles but no exported API changes.
 * A token from an earlier edit is replaced, so the line stays one line. Returns the line number.
 */
function editOneLine(file, token, marker = EDIT_MARKER) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((l) => l.includes(marker));
  if (index < 0 || !/"[^"\n]*"/.test(lines[index])) throw new Error(`no line with ${JSON.stringify(marker)} and a string literal in ${file}`);
  lines[index] = lines[index].replace(/"([^"\n]*?)( edit-[\w-]+)?"/, `"$1 edit-${token}"`);
  fs.writeFileSync(file, lines.join('\n'));
  return index + 1;
}

module.exports = { generateMidApp, generateEmbedApp, editOneLine, offlineGoEnv, EDIT_MARKER };

if (require.main === module) {
  const [dir, count] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node scripts/bench/gen-app.js <dir> [packages]');
    process.exit(2);
  }
  const result = generateMidApp(path.resolve(dir), { packages: count ? Number(count) : undefined });
  console.log(JSON.stringify(result));
}
