// Test-only controls, off unless the server starts with WASMATRIX_TEST_HOOKS=1.
// They are read from the server's stdin, one command a line, so nothing about
// them is reachable over the network, and they work while the server drains
// (its listening socket closed) just as well as while it serves:
//   hold      tasks the kernel pools take from now on wait before running
//   release   they run
// Each command is acknowledged on stdout with `test-hooks: <command>` once it
// took effect. Tests use this to have a job running or queued for as long as
// they need, instead of a job that is "slow enough" on some machine.

import { createInterface } from 'node:readline';
import { Gate } from '../pools/gate.js';
import type { Logger } from '../http/logger.js';

export const TEST_HOOKS_ENV = 'WASMATRIX_TEST_HOOKS';

/** The gate for the kernel pools when test hooks are on, else undefined. */
export function testGate(env: NodeJS.ProcessEnv = process.env): Gate | undefined {
  return env[TEST_HOOKS_ENV] === '1' ? new Gate() : undefined;
}

/** Serves the commands on stdin. */
export function serveTestHooks(gate: Gate, log: Logger): void {
  log.warning(`${TEST_HOOKS_ENV}=1: test hooks are on (hold/release on stdin); never use this in production`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = line.trim();
    if (command === 'hold') gate.hold();
    else if (command === 'release') gate.release();
    else {
      log.error(`test hooks: unknown command "${command.slice(0, 40)}"`);
      return;
    }
    process.stdout.write(`test-hooks: ${command}\n`);
  });
  // stdin closing (the test runner went away) must not hold jobs forever
  lines.on('close', () => gate.release());
}
