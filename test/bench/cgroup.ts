/**
 * A memory-limited cgroup for a benchmark's `sessionizer run`, so that it runs as the Deployment
 * does (deploy/k8s: `resources.limits.memory`). Node sizes V8's heap from that limit when no
 * `--max-old-space-size` is given (`uv_get_constrained_memory()`), so the limit changes how the
 * service collects garbage, not only when it is killed.
 *
 * The cgroup is made a child of the bench's own memory cgroup (/proc/self/cgroup): cgroup v1's
 * memory controller (`memory.limit_in_bytes`, `memory.failcnt`, `memory.oom_control`) or cgroup v2
 * (`memory.max`, `memory.events`). The process enters it before node starts (`wrap`: a shell
 * writes its own pid to `cgroup.procs`, then execs the command). Needs root (or a delegated
 * cgroup); otherwise `createMemoryCgroup` throws a message that says so.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 };

/** `1536M`, `1.5G`, `1536Mi`, `1610612736` → bytes (binary units, as Kubernetes' `Mi`/`Gi`). */
export function parseMemoryLimit(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim());
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) throw new Error(`--memory-limit: a size like 1536M or 1.5G, not '${text}'`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < 64 * 2 ** 20) throw new Error(`--memory-limit: ${text} is below 64 MiB`);
  return bytes;
}

export interface CgroupCounters {
  /** v1 memory.failcnt: how often the limit was hit (the kernel then reclaimed); v2: memory.events `max`. */
  readonly limitHits: number;
  /** OOM kills in the cgroup (v1 memory.oom_control `oom_kill`, v2 memory.events `oom_kill`). */
  readonly oomKills: number;
  /** v1 memory.max_usage_in_bytes, v2 memory.peak (when the kernel has it); page cache included. */
  readonly maxUsageBytes: number | null;
}

export interface MemoryCgroup {
  readonly version: 1 | 2;
  readonly path: string;
  readonly limitBytes: number;
  /** [command, args] that run `command args` inside the cgroup. */
  wrap(command: string, args: readonly string[]): [string, string[]];
  counters(): CgroupCounters;
  /** rmdir (the processes in it must have exited). */
  remove(): void;
}

function ownCgroup(controller: string | null): string {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  for (const l of lines) {
    const [, controllers = '', path = ''] = l.split(':');
    if (controller === null ? l.startsWith('0::') : controllers.split(',').includes(controller)) return path;
  }
  return '/';
}

const num = (file: string): number => Number(readFileSync(file, 'utf8').trim());
function keyed(file: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/**
 * Creates `<own memory cgroup>/<name>` with this memory limit. Throws, saying why, when there is
 * no memory controller or it cannot be written (not root, read-only /sys/fs/cgroup).
 */
export function createMemoryCgroup(name: string, limitBytes: number, root = '/sys/fs/cgroup'): MemoryCgroup {
  const v1 = join(root, 'memory');
  let version: 1 | 2;
  let path: string;
  if (existsSync(join(v1, 'memory.limit_in_bytes'))) {
    version = 1;
    path = join(v1, ownCgroup('memory'), name);
  } else if (
    existsSync(join(root, 'cgroup.controllers')) &&
    readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')
  ) {
    version = 2;
    path = join(root, ownCgroup(null), name);
  } else {
    throw new Error(
      `--memory-limit: no cgroup memory controller under ${root} (neither v1 ${v1}/memory.limit_in_bytes nor v2 memory in cgroup.controllers)`,
    );
  }
  try {
    mkdirSync(path);
    writeFileSync(join(path, version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
    if (version === 1 && existsSync(join(path, 'memory.memsw.limit_in_bytes'))) {
      // no swap here, but a limit on memory+swap keeps it so where there is
      writeFileSync(join(path, 'memory.memsw.limit_in_bytes'), String(limitBytes));
    }
  } catch (e) {
    try {
      rmdirSync(path);
    } catch {
      // not created
    }
    const why = e instanceof Error ? e.message : String(e);
    const hint =
      version === 2
        ? ' (cgroup v2: the parent must have +memory in cgroup.subtree_control and be writable)'
        : ' (needs root or a delegated cgroup)';
    throw new Error(`--memory-limit: cannot create the memory cgroup ${path}${hint}: ${why}`);
  }
  const set = version === 1 ? num(join(path, 'memory.limit_in_bytes')) : num(join(path, 'memory.max'));
  return {
    version,
    path,
    limitBytes: set,
    wrap(command, args) {
      return ['sh', ['-c', `echo $$ > '${join(path, 'cgroup.procs')}' && exec "$0" "$@"`, command, ...args]];
    },
    counters() {
      if (version === 1) {
        return {
          limitHits: num(join(path, 'memory.failcnt')),
          oomKills: keyed(join(path, 'memory.oom_control'), 'oom_kill'),
          maxUsageBytes: num(join(path, 'memory.max_usage_in_bytes')),
        };
      }
      const events = join(path, 'memory.events');
      const peak = join(path, 'memory.peak');
      return { limitHits: keyed(events, 'max'), oomKills: keyed(events, 'oom_kill'), maxUsageBytes: existsSync(peak) ? num(peak) : null };
    },
    remove() {
      rmdirSync(path);
    },
  };
}
