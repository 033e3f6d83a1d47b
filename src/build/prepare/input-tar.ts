/**
 * The one tar that goes into the build container with putArchive (no bind mounts, so a remote
 * engine works): the app under /workspace, the buildpack under /cnb/buildpacks/<id>/<version>,
 * the user's env as /platform/env/<NAME> files, and our phase wrapper. Everything the build
 * writes to is owned by the build user; the buildpack and tools are root-owned and read-only.
 */
import { accessSync, closeSync, constants, createReadStream, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import type { Pack } from 'tar-stream';
import { addTarEntry, READ_WHOLE_MAX_BYTES, tarStream, type TarBody, type TarHeader } from '../../image/tar';
import { UsageError } from '../../errors';

/**
 * A name from the host as bytes: Linux names are bytes, not text. `path` is its UTF-8 reading
 * (for filters and messages); `raw` is set when the bytes are not valid UTF-8, and is what the
 * tar carries then (a PAX record), so the build sees the same name.
 */
export type InputEntry =
  | { kind: 'dir'; path: string; raw?: Buffer; mode: number; owner: Owner }
  | { kind: 'file'; path: string; raw?: Buffer; mode: number; owner: Owner; content: Buffer | string }
  | { kind: 'host-file'; path: string; raw?: Buffer; mode: number; owner: Owner; hostPath: Buffer; size: number }
  | { kind: 'symlink'; path: string; raw?: Buffer; owner: Owner; target: string; rawTarget?: Buffer };

export interface Owner {
  uid: number;
  gid: number;
}

export const ROOT: Owner = { uid: 0, gid: 0 };

const SLASH = Buffer.from('/');

/** The bytes as text when they are valid UTF-8, else undefined. */
function utf8(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

/** A host path for a message: invalid UTF-8 and control characters shown escaped, as JSON does. */
export function showPath(bytes: Buffer | string): string {
  const text = typeof bytes === 'string' ? bytes : (utf8(bytes) ?? bytes.toString('latin1').replace(/[\x80-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`));
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const excludeHint = (rel: string): string => `or leave it out of the build in project.toml: [io.buildpacks] exclude = [${JSON.stringify(rel)}]`;

/** An app file the build cannot read: exit 2, naming it, with what to do. */
function unreadable(hostPath: Buffer, rel: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException)?.code ?? String(err);
  const shown = showPath(hostPath);
  if (code === 'ENOENT') {
    return new UsageError(`${shown} disappeared while it was being sent to the build`, {
      cause: err,
      hint: `Stop whatever is changing the app directory and build again, ${excludeHint(rel)}.`,
    });
  }
  return new UsageError(`cannot read ${shown} (${code}) to send it to the build`, {
    cause: err,
    hint: `Make it readable (chmod a+r for a file, a+rx for a directory) or owned by you, ${excludeHint(rel)}.`,
  });
}

const SPECIAL_KINDS: [(s: Stats) => boolean, string][] = [
  [(s) => s.isFIFO(), 'a FIFO (named pipe)'],
  [(s) => s.isSocket(), 'a socket'],
  [(s) => s.isCharacterDevice(), 'a character device'],
  [(s) => s.isBlockDevice(), 'a block device'],
];

/**
 * Entries for a host directory placed at `imageDir` (no leading slash), walked in byte order.
 * `include(rel, isDir)` decides per entry; an excluded directory is not descended into.
 * `forceExecutable` sets 0755 on files under bin/ (Windows checkouts lose the exec bit).
 * Names are bytes (a non-UTF-8 name is kept exactly); symbolic links go in as links, never
 * followed. A FIFO, socket or device, or what cannot be read, is a UsageError naming it:
 * nothing here ever opens a FIFO, and nothing is silently left out.
 */
export function hostTreeEntries(
  hostDir: string,
  imageDir: string,
  owner: Owner,
  include: (rel: string, isDir: boolean) => boolean = () => true,
  forceExecutable: (rel: string) => boolean = () => false,
): InputEntry[] {
  const entries: InputEntry[] = [];
  const rootBytes = Buffer.from(hostDir);
  const imageBytes = Buffer.from(imageDir);
  const walk = (relBytes: Buffer, rel: string): void => {
    const dirBytes = relBytes.length ? Buffer.concat([rootBytes, SLASH, relBytes]) : rootBytes;
    let names: Buffer[];
    try {
      names = readdirSync(dirBytes, { encoding: 'buffer' });
    } catch (err) {
      throw unreadable(dirBytes, rel || '.', err);
    }
    names.sort(Buffer.compare);
    for (const name of names) {
      const childBytes = relBytes.length ? Buffer.concat([relBytes, SLASH, name]) : name;
      const childText = utf8(childBytes);
      const childRel = childText ?? childBytes.toString('utf8');
      const hostPath = Buffer.concat([rootBytes, SLASH, childBytes]);
      let stat: Stats;
      try {
        stat = lstatSync(hostPath);
      } catch (err) {
        throw unreadable(hostPath, childRel, err);
      }
      if (!include(childRel, stat.isDirectory())) continue;
      const path = `${imageDir}/${childRel}`;
      const raw = childText === undefined ? Buffer.concat([imageBytes, SLASH, childBytes]) : undefined;
      if (stat.isDirectory()) {
        entries.push({ kind: 'dir', path, raw, mode: stat.mode & 0o7777, owner });
        walk(childBytes, childRel);
      } else if (stat.isSymbolicLink()) {
        let targetBytes: Buffer;
        try {
          targetBytes = readlinkSync(hostPath, { encoding: 'buffer' });
        } catch (err) {
          throw unreadable(hostPath, childRel, err);
        }
        const targetText = utf8(targetBytes);
        entries.push({ kind: 'symlink', path, raw, owner, target: targetText ?? targetBytes.toString('utf8'), rawTarget: targetText === undefined ? targetBytes : undefined });
      } else if (stat.isFile()) {
        try {
          accessSync(hostPath, constants.R_OK);
        } catch (err) {
          throw unreadable(hostPath, childRel, err);
        }
        const mode = forceExecutable(childRel) ? 0o755 : stat.mode & 0o7777;
        entries.push({ kind: 'host-file', path, raw, mode, owner, hostPath, size: stat.size });
      } else {
        const kind = SPECIAL_KINDS.find(([is]) => is(stat))?.[1] ?? 'not a file, directory or symbolic link';
        throw new UsageError(`${showPath(hostPath)} is ${kind}: only files, directories and symbolic links can be sent to the build`, {
          hint: `Remove it (or move it elsewhere), ${excludeHint(childRel)}.`,
        });
      }
    }
  };
  walk(Buffer.alloc(0), '');
  return entries;
}

/**
 * The body of an app file, as it is when it is sent. Small files are read whole, so the entry
 * has the size of what was read (a file that changed since the walk is sent as it is now).
 * Big files are streamed: exactly the walk's size (a file that grows is cut at that size);
 * one that shrank below it fails with a UsageError, as the tar header already promised more.
 */
function hostFileContent(entry: Extract<InputEntry, { kind: 'host-file' }>): { size: number; body: TarBody } {
  const rel = entry.path.replace(/^[^/]*\//, '');
  // Opened without blocking and without following a link: if the walk's file was replaced by a
  // FIFO or a link since, this notices instead of hanging or reading something else.
  let fd: number;
  try {
    fd = openSync(entry.hostPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'ELOOP' ? replaced(entry.hostPath, rel) : unreadable(entry.hostPath, rel, err);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw replaced(entry.hostPath, rel);
  }
  if (entry.size <= READ_WHOLE_MAX_BYTES) {
    try {
      const bytes = readFileSync(fd);
      return { size: bytes.length, body: bytes };
    } catch (err) {
      throw unreadable(entry.hostPath, rel, err);
    } finally {
      closeSync(fd);
    }
  }
  const body = (): NodeJS.ReadableStream =>
    Readable.from(
      (async function* () {
        let sent = 0;
        try {
          for await (const chunk of createReadStream('', { fd, start: 0, end: entry.size - 1 })) {
            sent += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
        } catch (err) {
          throw unreadable(entry.hostPath, rel, err);
        }
        if (sent < entry.size) {
          throw new UsageError(`${showPath(entry.hostPath)} changed while it was being sent to the build (it shrank from ${entry.size} to ${sent} bytes)`, {
            hint: `Stop whatever is writing to it and build again, ${excludeHint(rel)}.`,
          });
        }
      })(),
    );
  return { size: entry.size, body };
}

function replaced(hostPath: Buffer, rel: string): UsageError {
  return new UsageError(`${showPath(hostPath)} changed while it was being sent to the build (it is no longer a plain file)`, {
    hint: `Stop whatever is changing the app directory and build again, ${excludeHint(rel)}.`,
  });
}

/**
 * A PAX extended header carrying names as raw bytes (tar-stream writes names as UTF-8 text).
 * Each record is "<length> <key>=<value>\n", the length counting the whole record.
 */
export function paxRecords(records: [string, Buffer][]): Buffer {
  return Buffer.concat(
    records.map(([key, value]) => {
      const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
      let length = rest.length + 1;
      while (String(length).length + rest.length !== length) length = String(length).length + rest.length;
      return Buffer.concat([Buffer.from(String(length)), rest]);
    }),
  );
}

/** A ustar header block for a PAX extended header ('x') of `size` bytes. */
function paxHeaderBlock(size: number): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, offset: number, width: number): void => {
    block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii');
  };
  block.write('PaxHeader', 0, 'ascii');
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.floor(Date.now() / 1000), 136, 12);
  block.write('x', 156, 'ascii');
  block.write('ustar\u000000', 257, 'ascii');
  // The checksum is summed with its own field as blanks.
  block.fill(' ', 148, 156);
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/**
 * Before an entry whose name or link target is not UTF-8: a PAX header with the raw bytes,
 * pushed between entries (tar-stream's own PAX headers are UTF-8 text only).
 */
function addRawNames(tar: Pack, entry: InputEntry): void {
  const records: [string, Buffer][] = [];
  if (entry.raw) records.push(['path', entry.raw]);
  if (entry.kind === 'symlink' && entry.rawTarget) records.push(['linkpath', entry.rawTarget]);
  if (records.length === 0) return;
  const pax = paxRecords(records);
  const padding = Buffer.alloc((512 - (pax.length % 512)) % 512);
  tar.push(Buffer.concat([paxHeaderBlock(pax.length), pax, padding]));
}

function header(entry: InputEntry): TarHeader {
  const base = { name: entry.path, uid: entry.owner.uid, gid: entry.owner.gid, mtime: new Date() };
  switch (entry.kind) {
    case 'dir':
      return { ...base, type: 'directory', mode: entry.mode };
    case 'symlink':
      return { ...base, type: 'symlink', linkname: entry.target, mode: 0o777 };
    case 'file':
      return { ...base, type: 'file', mode: entry.mode, size: Buffer.byteLength(entry.content) };
    case 'host-file':
      return { ...base, type: 'file', mode: entry.mode, size: entry.size };
  }
}

/** A tar stream of the entries, produced lazily (file contents are streamed, not buffered). */
export function packEntries(entries: readonly InputEntry[]): Readable {
  return tarStream(async (tar) => {
    for (const entry of entries) {
      addRawNames(tar, entry);
      // A PAX header with raw bytes holds the real name: the ustar name is only a short stand-in
      // (a long one would make tar-stream add a PAX header of its own, which would win).
      const stand = entry.raw ? { name: 'PaxName' } : {};
      if (entry.kind === 'host-file') {
        const { size, body } = hostFileContent(entry);
        await addTarEntry(tar, { ...header(entry), ...stand, size }, body);
      } else {
        const linkStand = entry.kind === 'symlink' && entry.rawTarget ? { linkname: 'PaxLink' } : {};
        await addTarEntry(tar, { ...header(entry), ...stand, ...linkStand }, entry.kind === 'file' ? Buffer.from(entry.content) : undefined);
      }
    }
  });
}
