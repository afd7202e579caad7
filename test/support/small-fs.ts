/**
 * A small filesystem of our own (tmpfs, else a loop-mounted ext4 image; both need root, which CI
 * has) and a filler that takes every free byte of it: how the disk-full fault test and the soak
 * make the embedded engine's disk fill up for real.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A small filesystem of our own at `dir`: tmpfs, else a loop-mounted ext4 image. */
export async function mountSmallFs(dir: string, sizeMiB: number): Promise<{ kind: string; unmount: () => Promise<void> }> {
  const failures: string[] = [];
  const why = (err: unknown): string => ((err as { stderr?: string }).stderr ?? String(err)).trim();
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
    return { kind: `tmpfs ${sizeMiB} MiB`, unmount: () => run('umount', [dir]).then(() => undefined) };
  } catch (err) {
    failures.push(`mount -t tmpfs: ${why(err)}`);
  }
  const image = `${dir}.img`;
  try {
    await run('truncate', ['-s', `${sizeMiB}M`, image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop', image, dir]);
    return {
      kind: `ext4 image ${sizeMiB} MiB (loop)`,
      unmount: async () => {
        await run('umount', [dir]);
        rmSync(image, { force: true });
      },
    };
  } catch (err) {
    failures.push(`loop-mounted ext4: ${why(err)}`);
  }
  throw new Error(
    `this test needs a small filesystem of its own and could not mount one (it needs root; CI runs as root): ${failures.join('; ')}`,
  );
}

/** Take every free byte of the filesystem at `dir`; returns the bytes written. */
export function fill(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENOSPC') throw err;
        // the last partial megabyte
        for (let size = 512 * 1024; size >= 1; size = Math.floor(size / 2)) {
          try {
            written += writeSync(fd, chunk, 0, size);
          } catch {
            // smaller next time
          }
        }
        return written;
      }
    }
  } finally {
    closeSync(fd);
  }
}
