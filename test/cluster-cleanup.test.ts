// What a local run (npm run replicas, npm run failover, the proxy tests) leaves
// behind when it is killed before it can clean up is removed by the next run:
// the namespaces and links named after a pid that is gone, with whatever still
// runs inside them, and the process groups its run directory recorded. Those
// of runs still alive are left alone.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canUseNamespaces, cleanStaleNetworks, netnsNames } from '../bench/cluster/network.ts';
import { cleanStaleRuns, isAlive } from '../bench/cluster/processes.ts';
import { waitFor } from './fixtures/http-server.ts';

/** A pid that surely belongs to no process now: one that has just exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** A long-lived process, in a group of its own, whose command line looks like a host's. */
function fakeHost(prefix: string[] = []): ChildProcess {
  const [cmd, ...args] = [...prefix, process.execPath, '-e', 'setInterval(() => {}, 1000)', 'dist/src/cli/main.js'];
  return spawn(cmd!, args, { detached: true, stdio: 'ignore' });
}

const ip = (args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

test('the run directory of a dead run: the process groups it recorded are killed, the directory removed; a live run keeps its own', async () => {
  const pid = await deadPid();
  const staleDir = join(tmpdir(), `wasmatrix-run-${pid}-test`);
  const liveDir = join(tmpdir(), `wasmatrix-run-${process.pid}-test`);
  const orphan = fakeHost();
  try {
    for (const dir of [staleDir, liveDir]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'groups'), `${orphan.pid}\n`);
    }
    assert.ok(isAlive(orphan.pid!));
    const removed = cleanStaleRuns();
    assert.ok(removed.includes(staleDir), `removed: ${removed.join(', ')}`);
    assert.not.ok(existsSync(staleDir));
    assert.ok(existsSync(liveDir), "this process's own run is left alone");
    await waitFor('the orphaned host to be killed', () => !isAlive(orphan.pid!));
  } finally {
    orphan.kill('SIGKILL');
    for (const dir of [staleDir, liveDir]) execFileSync('rm', ['-rf', dir]);
  }
});

if (canUseNamespaces()) {
  test('namespaces and links named after a dead pid are removed, with the processes inside; those of a live pid are not', async () => {
    const dead = await deadPid();
    const live = process.pid;
    const made = [dead, live].map((pid) => ({ pid, ...netnsNames(pid, 1), bridge: `wmx${pid}br` }));
    let inside: ChildProcess | undefined;
    try {
      for (const m of made) {
        ip(['netns', 'add', m.ns]);
        ip(['link', 'add', m.bridge, 'type', 'bridge']);
        ip(['link', 'add', m.veth, 'type', 'veth', 'peer', 'name', m.peer]);
      }
      inside = fakeHost(['ip', 'netns', 'exec', made[0]!.ns]);
      await waitFor('the process in the stale namespace to run', () => ip(['netns', 'pids', made[0]!.ns]).trim() !== '');
      const removed = cleanStaleNetworks();
      const names = ip(['netns', 'list']) + ip(['-o', 'link', 'show']);
      for (const name of [made[0]!.ns, made[0]!.bridge, made[0]!.veth]) {
        assert.ok(removed.includes(name), `${name} reported removed: ${removed.join(', ')}`);
        assert.not.match(names, new RegExp(`\\b${name}\\b`), `${name} is gone`);
      }
      for (const name of [made[1]!.ns, made[1]!.bridge, made[1]!.veth]) assert.match(names, name, `${name} (a live run's) is kept`);
      await waitFor('the process inside the stale namespace to be killed', () => !isAlive(inside!.pid!));
    } finally {
      inside?.kill('SIGKILL');
      for (const m of made) {
        for (const args of [['netns', 'del', m.ns], ['link', 'del', m.bridge], ['link', 'del', m.veth]]) {
          try {
            execFileSync('ip', args, { stdio: 'ignore' });
          } catch {
            // removed by the test already
          }
        }
      }
    }
  });
}

test.run();
