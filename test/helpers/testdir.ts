/** testdir: a temp directory made from an inline file tree, removed by the returned cleanup. */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type FileTree = Record<string, string | { content: string; mode: number }>;

export interface TestDir {
  path: string;
  cleanup(): void;
}

export function testdir(tree: FileTree, prefix = 'gobuild-cnb-test-'): TestDir {
  const root = mkdtempSync(join(tmpdir(), prefix));
  writeTree(root, tree);
  return { path: root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function writeTree(root: string, tree: FileTree): void {
  for (const [rel, spec] of Object.entries(tree)) {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    if (rel.endsWith('/')) {
      mkdirSync(file, { recursive: true });
      continue;
    }
    const { content, mode } = typeof spec === 'string' ? { content: spec, mode: 0o644 } : spec;
    writeFileSync(file, content);
    chmodSync(file, mode);
  }
}
