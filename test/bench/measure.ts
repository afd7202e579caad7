/**
 * How the benchmarks measure one process, the same way for every contender (the bare kafkajs
 * baseline, `sessionizer run`, the Kafka Streams peer), so that a figure depends on that process
 * only:
 *
 *  - CPU is utime + stime from /proc/<pid>/stat of the process and of any process it started:
 *    every thread counts (V8's and the JVM's compiler and GC threads, chDB's and RocksDB's
 *    background threads, client I/O threads). Nothing else on the machine is counted; what the
 *    rest of the machine used in the same window (the broker serving the reads, the bench's own
 *    polling, other users) is reported beside it as `otherCpuSeconds`, from /proc/stat.
 *  - The window opens when the process has read its first record (its start-up is not in it) and
 *    closes when the process's work is done (consumed, or committed and produced).
 *  - Steady state: CPU and time from the first sample at which half the events were read to the
 *    end of the window, divided by the events read in between: the JIT warm-up of the first half
 *    is not in it.
 *  - Peak RSS is VmHWM of the process itself, read before it is stopped.
 *  - `settle()` waits before each run until the machine is quiet (the previous process gone, the
 *    broker done flushing a preload), and the bench runs one contender at a time.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

function statFields(pid: number): string[] {
  // The command name (field 2) may contain spaces: the numeric fields start after its ')'.
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The pid and every descendant still alive (threads' `children` files list direct children). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ').filter(Boolean)) walk(Number(c));
    }
  };
  walk(pid);
  return out;
}

/** utime + stime of one process (all its threads), in seconds; 0 when it is gone. */
export function procCpuSeconds(pid: number): number {
  try {
    const f = statFields(pid);
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS; // fields 14 and 15 of proc(5)
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of each thread of a process, summed by thread name with digits folded
 * (`C2 CompilerThre#`, `GC Thread##`, `…-StreamThread-#`): where a JVM's or V8's time goes.
 */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = text
        .slice(text.indexOf('(') + 1, text.lastIndexOf(')'))
        .replace(/[0-9a-f]{8,}/g, '…')
        .replace(/(?<=[-#_ ])\d+/g, '#');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / CLOCK_TICKS);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** CPU seconds of the process and its descendants. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((a, p) => a + procCpuSeconds(p), 0);
}

/** Peak resident set (VmHWM) of one process, in bytes. */
export function procPeakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until the machine is quiet: a 1 s window with less than `maxBusyCores` busy, at most
 * `timeoutMs`. Returns the busy cores of the last window (reported with each figure).
 */
export async function settle(maxBusyCores = 0.3, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const b0 = machineBusySeconds();
    const t0 = performance.now();
    await sleep(1_000);
    const busy = (machineBusySeconds() - b0) / ((performance.now() - t0) / 1000);
    if (busy < maxBusyCores || performance.now() > deadline) return Math.round(busy * 100) / 100;
  }
}

interface Sample {
  readonly t: number;
  readonly cpu: number;
  readonly read: number;
}

export interface Measured {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPerMillionEvents: number;
  /** Events per CPU-second of the process: what the ratios compare. */
  readonly eventsPerCpuSecond: number;
  /** From the first sample with half the events read to the end of the window; null if too short to tell. */
  readonly steady: {
    readonly fromEvent: number;
    readonly events: number;
    readonly seconds: number;
    readonly eventsPerSecond: number;
    readonly cpuSecondsPerMillionEvents: number;
    readonly eventsPerCpuSecond: number;
  } | null;
  readonly peakRssBytes: number;
  /** CPU the rest of the machine used during the window (broker, bench, anything else). */
  readonly otherCpuSeconds: number;
  /** Busy cores in the second before the process was started (see settle()). */
  readonly machineBusyCoresBefore: number | null;
  readonly processes: number;
  /** CPU seconds in the window by thread name (threads that ended during it are missing), largest first. */
  readonly threadCpuSeconds: Readonly<Record<string, number>>;
}

const r2 = (x: number, d = 2): number => Number(x.toFixed(d));

/**
 * One process's measured window. `start()` when it has read its first record; `sample(read)`
 * every ~200 ms with the number of records it has read; `finish()` when its work is done.
 */
export class Meter {
  readonly #pid: number;
  readonly #events: number;
  #t0 = 0;
  #cpu0 = 0;
  #busy0 = 0;
  #threads0 = new Map<string, number>();
  readonly #samples: Sample[] = [];
  busyBefore: number | null = null;

  constructor(pid: number, events: number) {
    this.#pid = pid;
    this.#events = events;
  }

  get started(): boolean {
    return this.#t0 !== 0;
  }

  start(): void {
    this.#t0 = performance.now();
    this.#cpu0 = treeCpuSeconds(this.#pid);
    this.#busy0 = machineBusySeconds();
    this.#threads0 = threadCpuSeconds(this.#pid);
  }

  sample(read: number): void {
    if (!this.started) return;
    this.#samples.push({ t: performance.now(), cpu: treeCpuSeconds(this.#pid), read });
  }

  finish(): Measured {
    const t = performance.now();
    const tree = processTree(this.#pid);
    const cpuNow = tree.reduce((a, p) => a + procCpuSeconds(p), 0);
    const cpu = cpuNow - this.#cpu0;
    const seconds = (t - this.#t0) / 1000;
    const other = machineBusySeconds() - this.#busy0 - cpu;
    const threads = [...threadCpuSeconds(this.#pid)]
      .map(([name, c]): [string, number] => [name, r2(c - (this.#threads0.get(name) ?? 0))])
      .filter(([, c]) => c >= 0.01)
      .sort((a, b) => b[1] - a[1]);
    const n = this.#events;
    const half = this.#samples.find((s) => s.read >= n / 2);
    let steady: Measured['steady'] = null;
    if (half !== undefined && half.read < n) {
      const events = n - half.read;
      const s = (t - half.t) / 1000;
      const c = cpuNow - half.cpu;
      steady = {
        fromEvent: half.read,
        events,
        seconds: r2(s),
        eventsPerSecond: Math.round(events / s),
        cpuSecondsPerMillionEvents: r2((c / events) * 1e6, 1),
        eventsPerCpuSecond: Math.round(events / c),
      };
    }
    return {
      events: n,
      seconds: r2(seconds),
      eventsPerSecond: Math.round(n / seconds),
      cpuSeconds: r2(cpu),
      cpuSecondsPerMillionEvents: r2((cpu / n) * 1e6, 1),
      eventsPerCpuSecond: Math.round(n / cpu),
      steady,
      peakRssBytes: procPeakRss(this.#pid),
      otherCpuSeconds: r2(other),
      machineBusyCoresBefore: this.busyBefore,
      processes: tree.length,
      threadCpuSeconds: Object.fromEntries(threads),
    };
  }
}
