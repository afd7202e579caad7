#!/usr/bin/env node
// Node 20 cannot run TypeScript itself: tsx compiles the sources on load (cached).
import { register } from 'tsx/esm/api';

register();
const { main, interruptSignal } = await import('../src/main.ts');
const interrupt = interruptSignal(process);
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stderrIsTty: process.stderr.isTTY === true,
  signal: interrupt.signal,
});
interrupt.dispose();
