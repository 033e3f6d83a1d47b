/**
 * Where an OCI output may be written (issue #10 item 4): a new path or a regular file (archive),
 * a new, empty or layout directory (layout). Never a symbolic link as the last component (we
 * neither follow nor replace it), never a device, FIFO or socket (a rename would turn
 * /dev/full into a file). Parent directories are followed, as users expect. Checked before the
 * build (preflight) and again right before the final rename.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExportError, UsageError } from '../errors';
import { tempPathIn } from './digest';

/** `--output oci-archive:-`: the archive goes to stdout (as `docker save -o -`). */
export const STDOUT_PATH = '-';

export type OciOutputKind = 'oci' | 'oci-archive';

const WHAT: Record<OciOutputKind, string> = { oci: 'an OCI layout', 'oci-archive': 'an OCI archive' };

export function fileKind(info: Stats): string {
  if (info.isFile()) return 'a regular file';
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'a special file';
}

export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const refuse = (kind: OciOutputKind, path: string, why: string, hint: string): UsageError =>
  new UsageError(`cannot write ${WHAT[kind]} to ${JSON.stringify(path)}: ${why}`, { hint });

const SPECIAL_HINT: Record<OciOutputKind, string> = {
  'oci-archive': 'Give the path of a new or regular file, e.g. image.tar; to stream the archive, use --output oci-archive:- and redirect stdout.',
  oci: 'Give a new or empty directory, or an existing OCI image layout (one with an oci-layout file).',
};

/** Control characters (a newline above all) in a path break every line that names it. */
export function checkPathCharacters(path: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) {
    throw new UsageError(`--output: the path ${JSON.stringify(path)} holds a newline or another control character`, {
      hint: 'Give a path without control characters.',
    });
  }
}

/**
 * The final component: refused when it is a symbolic link or a special file; for an archive a
 * directory is refused too, for a layout a file. Returns what is there (null: nothing yet).
 */
export async function checkFinalComponent(kind: OciOutputKind, path: string): Promise<Stats | null> {
  const info = await lstatOrNull(path);
  if (!info) return null;
  if (info.isSymbolicLink()) {
    const target = await readlink(path).catch(() => '?');
    throw refuse(kind, path, `it is a symbolic link (to ${JSON.stringify(target)})`,
      'gobuild-cnb neither writes through nor replaces a symbolic link. Give the real path (e.g. $(realpath <link>)), or remove the link.');
  }
  if (kind === 'oci-archive' && info.isDirectory()) {
    throw refuse(kind, path, 'it is a directory', 'Give a file name, e.g. image.tar, or use oci:<dir> for a layout.');
  }
  if (kind === 'oci' && !info.isDirectory()) throw refuse(kind, path, `it is ${fileKind(info)}, not a directory`, SPECIAL_HINT.oci);
  if (kind === 'oci-archive' && !info.isFile()) throw refuse(kind, path, `it is ${fileKind(info)}`, SPECIAL_HINT['oci-archive']);
  return info;
}

/** The nearest directory on the way to `path` that exists (a layout's parents are created). */
async function nearestExistingDir(path: string): Promise<string> {
  let dir = dirname(path);
  for (;;) {
    const info = await stat(dir).catch(() => null);
    if (info) return dir;
    const parent = dirname(dir);
    if (parent === dir) return dir;
    dir = parent;
  }
}

/** Creates and removes a file with O_EXCL in `dir`: the only sure test of "may I write here". */
async function probeWritable(kind: OciOutputKind, path: string, dir: string): Promise<void> {
  const probe = tempPathIn(dir, 'probe');
  try {
    const handle = await open(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    await handle.close();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
    throw refuse(kind, path, `cannot create files in ${JSON.stringify(dir)} (${code}: ${why})`,
      'Give a path on a writable file system, in a directory where you may create files.');
  } finally {
    await rm(probe, { force: true });
  }
}

/**
 * Everything that can be known before the build: the path's characters, its last component,
 * its parent (an archive's must exist and be a directory) and that files can be created there.
 */
export async function checkOutputPath(kind: OciOutputKind, path: string): Promise<Stats | null> {
  checkPathCharacters(path);
  const info = await checkFinalComponent(kind, path);
  if (kind === 'oci' && info) {
    await probeWritable(kind, path, path);
    return info;
  }
  const parent = dirname(path);
  if (kind === 'oci-archive') {
    const parentInfo = await stat(parent).catch((err: NodeJS.ErrnoException) => err.code ?? 'error');
    if (typeof parentInfo === 'string') {
      throw refuse(kind, path, `its directory ${JSON.stringify(parent)} does not exist (${parentInfo})`,
        `Create the directory first (mkdir -p ${JSON.stringify(parent)}) or give another path.`);
    }
    if (!parentInfo.isDirectory()) throw refuse(kind, path, `${JSON.stringify(parent)} is not a directory`, SPECIAL_HINT['oci-archive']);
    await probeWritable(kind, path, parent);
    return info;
  }
  await probeWritable(kind, path, await nearestExistingDir(path));
  return info;
}

/**
 * Right before renaming a finished temp file over `path`: what is there now must still be
 * nothing or a regular file (it may have changed during the build).
 */
export async function checkRenameTarget(kind: OciOutputKind, path: string): Promise<void> {
  try {
    await checkFinalComponent(kind, path);
  } catch (err) {
    throw new ExportError((err as Error).message, { hint: 'The output path changed during the build; nothing was written to it. Give a new path and build again.' });
  }
}

/** An error while writing the output, as exit 62 with a hint for its cause. */
export function outputWriteError(err: unknown, what: string, path: string): ExportError {
  if (err instanceof ExportError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const where = path === STDOUT_PATH ? 'stdout' : JSON.stringify(path);
  const hints: Record<string, string> = {
    ENOSPC: `The file system of ${where} is full: free space (df -h) or write elsewhere. A file that was there before was left as it was.`,
    EDQUOT: `Your disk quota on the file system of ${where} is used up: free space or write elsewhere. A file that was there before was left as it was.`,
    EROFS: 'The file system is read-only: give a path on a writable one.',
    EACCES: 'Permission denied: give a path in a directory where you may create files.',
    EPERM: 'Permission denied: give a path in a directory where you may create files.',
    EPIPE: 'The program reading stdout closed it before the archive was complete.',
  };
  return new ExportError(`could not write ${what} ${where}: ${(err as Error).message}`, {
    cause: err,
    hint: (code && hints[code]) ?? 'Check the path and the free space of its file system, then build again.',
  });
}
