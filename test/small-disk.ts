import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { freshStateDir } from './helpers.js';

/**
 * A small file system of its own (a tmpfs of `size`, e.g. `64m`) for disk-full tests; mounting
 * needs root, so `path` is undefined where it cannot be mounted (the tests that need it skip, the
 * injected-ENOSPC test of the log stands alone). `unmount` in afterAll.
 */
export function smallDisk(size: string): { path: string | undefined; unmount(): void } {
  const path = join(freshStateDir(), 'small');
  try {
    mkdirSync(path);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    return { path: undefined, unmount: () => {} };
  }
  return { path, unmount: () => execFileSync('umount', ['-l', path], { stdio: 'ignore' }) };
}

/** Writes one file in `dir` until its file system is full (big chunks, then small ones for the rest); returns the file (delete it to make room). */
export function fillDisk(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  try {
    for (const size of [1024 * 1024, 512]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}
