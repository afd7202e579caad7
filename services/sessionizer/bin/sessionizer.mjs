#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { createReadStream, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * The embedded ClickHouse engine (chDB, like clickhouse-local) treats a process stdin that is a
 * pipe, a socket or a file as extra INSERT data: every insert then also reads it (or fails with
 * "both inlined and external data"). So when stdin is such a data source, run the CLI in a
 * child whose stdin is /dev/null and which gets our stdin as fd 3 (`replay -` reads it there).
 */
const INPUT_FD_ENV = 'SESSIONIZER_INTERNAL_INPUT_FD';

function stdinIsData() {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

if (process.env[INPUT_FD_ENV] === undefined && stdinIsData()) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', 0],
    env: { ...process.env, [INPUT_FD_ENV]: '3' },
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(signal, () => {
      child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === null ? 1 : 128);
  });
} else {
  const fd = process.env[INPUT_FD_ENV] === undefined ? undefined : Number(process.env[INPUT_FD_ENV]);
  let stdin = process.stdin;
  if (fd !== undefined) stdin = fstatSync(fd).isFile() ? createReadStream('', { fd }) : new Socket({ fd, readable: true, writable: false });
  // Node 20 cannot run TypeScript itself: tsx compiles the sources on load (cached).
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/main.ts');
  const code = await main(process.argv.slice(2), {
    stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stderrIsTty: process.stderr.isTTY === true,
    stdoutIsTty: process.stdout.isTTY === true,
    signals: process,
  });
  if (fd !== undefined) stdin.destroy();
  process.exitCode = code;
  // Everything is done (for `run`: written, committed, group left). Exit even if a client left
  // a handle open — kafkajs can keep a socket re-opened after a broker restart past its
  // disconnect() — after a moment for stdout and stderr to drain.
  setTimeout(() => process.exit(code), 500).unref();
}
