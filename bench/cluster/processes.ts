// The processes of a local run (hosts, proxy), and the run's directory that
// records them. Each run has a directory named after its pid holding the
// process groups it started; cleanStaleRuns() finds the directories of runs
// whose process is gone and SIGKILLs what is left of their groups (only
// processes that are ours: a wasmatrix server or worker, a kernel child, a proxy, nats-server), so a
// run killed before it could clean up leaves nothing behind for long.

import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUN_DIR_PREFIX = 'wasmatrix-run-';
const GROUPS_FILE = 'groups';
/** Command lines a run's group may hold: anything else in a recorded group is left alone. */
const OURS = /dist\/src\/cli\/main\.js|process-worker|haproxy|nginx|nats-server/;

/** True while `pid` exists (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * A fresh directory for this run: <tmp>/wasmatrix-run-<pid>-XXXXXX. Others may
 * pass through it, not list it: nginx started by root runs its workers as
 * another user, and they write request bodies into the temp directories the
 * master makes here for them.
 */
export function makeRunDir(): string {
  const dir = mkdtempSync(join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
  chmodSync(dir, 0o711);
  return dir;
}

/** Notes a process group this run started, for cleanStaleRuns. */
export function recordGroup(runDir: string, pgid: number): void {
  appendFileSync(join(runDir, GROUPS_FILE), `${pgid}\n`);
}

/** Pids whose process group is `pgid` and whose command line is one of ours. */
function ourGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      if (OURS.test(readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' '))) members.push(Number(name));
    } catch {
      // ended meanwhile
    }
  }
  return members;
}

/** SIGKILLs what is ours in `pgid`. */
export function killOurGroup(pgid: number): void {
  for (const pid of ourGroupMembers(pgid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Kills what is left of runs whose process is gone and removes their directories; returns those directories. */
export function cleanStaleRuns(): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${RUN_DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    const dir = join(tmpdir(), name);
    let groups: number[] = [];
    try {
      groups = readFileSync(join(dir, GROUPS_FILE), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // no group recorded
    }
    for (const pgid of groups) killOurGroup(pgid);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
