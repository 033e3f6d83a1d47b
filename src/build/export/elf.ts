/**
 * Just enough ELF to answer "does this binary need a dynamic loader (a libc) at run time?" and
 * "which architecture is it for?", so a binary that cannot start on its run image is caught at
 * export with a clear message instead of "exec format error" or "no such file" at `docker run`.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface ElfInfo {
  machine: string;
  /** PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2; undefined for a static binary. */
  interpreter?: string;
}

const MACHINES: Record<number, string> = { 0x3e: 'amd64', 0xb7: 'arm64', 0x28: 'arm', 0x03: '386', 0xf3: 'riscv64', 0x15: 'ppc64', 0x16: 's390x' };
const PT_INTERP = 3;

function read(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  return buf.subarray(0, n);
}

/** null when the file is not a 64-bit little-endian ELF (e.g. a script). */
export function readElf(path: string): ElfInfo | null {
  const fd = openSync(path, 'r');
  try {
    const ident = read(fd, 0, 64);
    if (ident.length < 64 || ident.readUInt32BE(0) !== 0x7f454c46 || ident[4] !== 2 || ident[5] !== 1) return null;
    const machine = MACHINES[ident.readUInt16LE(18)] ?? `elf-machine-${ident.readUInt16LE(18)}`;
    const phoff = Number(ident.readBigUInt64LE(32));
    const phentsize = ident.readUInt16LE(54);
    const phnum = ident.readUInt16LE(56);
    for (let i = 0; i < phnum; i++) {
      const ph = read(fd, phoff + i * phentsize, phentsize);
      if (ph.length < 40 || ph.readUInt32LE(0) !== PT_INTERP) continue;
      const offset = Number(ph.readBigUInt64LE(8));
      const size = Number(ph.readBigUInt64LE(32));
      const interpreter = read(fd, offset, size).toString('utf8').replace(/\0+$/, '');
      return { machine, interpreter };
    }
    return { machine };
  } finally {
    closeSync(fd);
  }
}
