/**
 * A build's temp dir is named after the process that owns it (`gobuild-cnb-<pid>-XXXXXX`), so
 * the next build can remove the ones whose process is gone (a CLI killed with SIGKILL cannot
 * clean up after itself).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const OWNED_DIR = /^gobuild-cnb-(\d+)-[A-Za-z0-9]{6}$/;

export function makeBuildTempDir(root: string): string {
  return mkdtempSync(join(root, `gobuild-cnb-${process.pid}-`));
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp dirs of builds whose process is gone; returns how many. Never fails a build. */
export function removeStaleBuildTempDirs(root: string, isAlive: (pid: number) => boolean = processIsAlive): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    const owner = OWNED_DIR.exec(name);
    if (!owner || Number(owner[1]) === process.pid || isAlive(Number(owner[1]))) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
      removed++;
    } catch {
      // another user's, or going away meanwhile
    }
  }
  return removed;
}
