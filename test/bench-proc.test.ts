// Reading /proc: stat lines with awkward command names, memory fields, machine
// ticks, the process tree by parent pid, listening sockets; and a live sample.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findListeningPid, parseKbField, parseListeningInodes, parseMachineTicks, parseStat, processTree } from '../bench/http/proc.ts';
import { ResourceSampler } from '../bench/http/resource-sampler.ts';

test('a stat line is read after the last parenthesis, whatever the command name holds', () => {
  const line = '4242 (node (worker) x) S 4000 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 1000 1000000 5000';
  assert.equal(parseStat(line), { pid: 4242, ppid: 4000, ticks: 300 });
});

test('kB fields of status and smaps_rollup are bytes; a missing field is undefined', () => {
  const status = 'Name:\tnode\nVmPeak:\t  900 kB\nVmRSS:\t  1234 kB\n';
  assert.is(parseKbField(status, 'VmRSS'), 1234 * 1024);
  assert.is(parseKbField('Rss: 10 kB\nPss:    77 kB\n', 'Pss'), 77 * 1024);
  assert.is(parseKbField('Name: kthreadd\n', 'VmRSS'), undefined);
});

test('machine ticks: busy is everything but idle and iowait', () => {
  assert.equal(parseMachineTicks('cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3 4\n'), { busy: 160, total: 980 });
});

test('the process tree holds the root and every descendant, not its siblings', () => {
  const all = [
    { pid: 10, ppid: 1 },
    { pid: 11, ppid: 10 },
    { pid: 12, ppid: 11 },
    { pid: 13, ppid: 1 },
  ];
  assert.equal(processTree(10, all).sort(), [10, 11, 12]);
});

test('listening sockets are found by port in /proc/net/tcp text', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0',
    '   1: 0100007F:1F40 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 6666 1 0',
  ].join('\n');
  assert.equal(parseListeningInodes(text, 8000), [5555]);
  assert.equal(parseListeningInodes(text, 8001), []);
});

test('the pid listening on a port is this process for a server it opened', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    assert.is(findListeningPid((server.address() as AddressInfo).port), process.pid);
  } finally {
    server.close();
  }
});

test('the sampler counts a busy child in the tree: its CPU and its memory', async () => {
  // the child burns a fixed amount of CPU (not of wall-clock time: on a loaded machine it gets less
  // than a core) once the sampler has seen it, says so, and waits to be killed
  const BURN_MS = 400;
  const program = `process.stdin.once('data', () => {
    const t = process.cpuUsage();
    for (;;) { const u = process.cpuUsage(t); if ((u.user + u.system) / 1000 >= ${BURN_MS}) break; }
    process.stdout.write('done\\n');
    setInterval(() => {}, 1000);
  });`;
  const child = spawn(process.execPath, ['-e', program], { stdio: ['pipe', 'pipe', 'ignore'] });
  try {
    await sleep(0); // spawned: its pid is in /proc
    const sampler = new ResourceSampler(process.pid, 100);
    const t0 = performance.now();
    const own0 = process.cpuUsage();
    sampler.start(); // the first sample sees the child before it burns
    child.stdin!.write('go\n');
    await once(child.stdout!, 'data');
    const own = process.cpuUsage(own0);
    const r = sampler.stop();
    const seconds = (performance.now() - t0) / 1000;
    // the tree's CPU seconds, less this process's own (it is the root): the child's burn
    const childCpuMs = (r.server_cpu_pct / 100) * seconds * 1000 - (own.user + own.system) / 1000;
    assert.ok(r.processes >= 2, `processes ${r.processes}`);
    assert.ok(childCpuMs >= BURN_MS * 0.8, `the child's CPU counted: ${childCpuMs.toFixed(0)} ms of ${BURN_MS}`);
    assert.ok(r.rss_peak_mb >= r.rss_avg_mb && r.rss_avg_mb > 10);
    assert.ok(r.samples >= 2);
  } finally {
    child.kill();
    await once(child, 'exit');
  }
});

test.run();
