import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a process with this id runs (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process per log directory: two writing the same segment files would interleave records.
 * The lock file holds the owner's pid; one left by a process that is gone (a SIGKILL) is taken over.
 * Returns the release function.
 */
export function lockDirectory(dir: string): () => void {
  const file = join(dir, 'lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
        throw new Error(
          `the log in ${dir} is in use by process ${owner}: one process per STATE_DIR (give this one another STATE_DIR, or LOG_STORE=memory)`,
          { cause: error },
        );
      unlinkSync(file); // left by a process that is gone
    }
  }
  return () => {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  };
}
