// Faults seen from a client of the real server: kernel workers recycled
// (--max-requests) or crashed (--chaos SIGUSR2, SIGKILL of a child) under
// load, the in-flight memory cap (--max-inflight-bytes), and a pool that cannot
// start workers any more (the server says why and exits 1 instead of looping).

import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, startServer, waitFor, type RunningServer } from './fixtures/http-server.ts';
import { childPids, metricSum, scrapeMetric } from './fixtures/server-inspect.ts';

interface Answer {
  status: number;
  code?: string;
  checksum?: string;
}

async function get(url: string): Promise<Answer> {
  const r = await fetch(url);
  const body = (await r.json()) as { code?: string; checksum?: string };
  return { status: r.status, code: body.code, checksum: body.checksum };
}

/** The lab job in every pooled mode, with the checksum the TS baseline gives for it. */
async function referenceJobs(base: string): Promise<{ url: string; checksum: string }[]> {
  const jobs = [];
  for (const [path, i] of [['/threading', 1], ['/multiprocessing', 2], ['/add?mode=threads', 3], ['/add?mode=processes', 4]] as const) {
    const query = `n=${96 + i}&dtype=${i % 2 ? 'int32' : 'float32'}&seed=${i}`;
    const ts = await get(`${base}/add?mode=ts&${query}`);
    jobs.push({ url: `${base}${path}${path.includes('?') ? '&' : '?'}${query}`, checksum: ts.checksum! });
  }
  return jobs;
}

test('--max-requests recycles kernel workers under load without failing a request', async () => {
  const server = await startServer(['--max-requests', '5', '--max-requests-jitter', '3']);
  try {
    const jobs = await referenceJobs(server.url);
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(jobs.flatMap((j) => [get(j.url), get(j.url)]).map((p, i) => p.then((a) => ({ a, want: jobs[i >> 1]!.checksum }))));
      for (const { a, want } of answers) {
        assert.is(a.status, 200, JSON.stringify(a));
        assert.is(a.checksum, want);
      }
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    // 20 jobs of 2 bands per pool, recycling every 5 to 8 tasks per worker
    assert.ok(metricSum(metrics, 'wasmatrix_pool_worker_restarts', { pool: 'threads' }) >= 2, 'threads were recycled');
    assert.ok(metricSum(metrics, 'wasmatrix_pool_worker_restarts', { pool: 'processes' }) >= 2, 'processes were recycled');
  } finally {
    await server.stop();
  }
});

/** Resolves with `promise`, or fails after `ms` (a guard against a hang, never a measurement). */
function guard<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const poolMetric = (server: RunningServer, name: string, pool: 'threads' | 'processes') => scrapeMetric(server.url, name, { pool });
/** Both workers of both pools hold a band (the test hold keeps them): they can be killed mid-task. */
const everyWorkerBusy = (server: RunningServer) => async () =>
  (await poolMetric(server, 'wasmatrix_pool_busy_workers', 'threads')) === 2 && (await poolMetric(server, 'wasmatrix_pool_busy_workers', 'processes')) === 2;

test('crashed kernel workers (SIGUSR2 with --chaos, SIGKILL of a child) under load: every answer is right, none is a partial result', async () => {
  const server = await startServer(['--chaos']);
  try {
    const jobs = await referenceJobs(server.url);
    assert.is(childPids(server.pid).length, 2, 'two kernel processes');
    const ROUNDS = 8;
    const counts: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      // every worker of both pools holds a band of these jobs when one of them is killed
      await server.hold();
      const answers = jobs.flatMap((j) => [j, j]).map(async (j) => ({ a: await get(j.url), want: j.checksum }));
      await waitFor(`round ${round}: every kernel worker busy`, everyWorkerBusy(server));
      if (round % 2 === 0) {
        const before = server.output().stderr.split('chaos: SIGUSR2 killed').length;
        process.kill(server.pid, 'SIGUSR2');
        await waitFor('the kernel thread to be killed', () => server.output().stderr.split('chaos: SIGUSR2 killed').length > before);
      } else {
        const pids = childPids(server.pid);
        process.kill(pids[round % pids.length]!, 'SIGKILL');
      }
      const pool = round % 2 === 0 ? 'threads' : 'processes';
      await waitFor(`round ${round}: the ${pool} pool to replace its worker`, async () => (await poolMetric(server, 'wasmatrix_pool_worker_restarts', pool)) === Math.floor(round / 2) + 1);
      await server.release();
      for (const { a, want } of await Promise.all(answers)) {
        const key = a.status === 200 ? '200' : `${a.status} ${a.code}`;
        counts[key] = (counts[key] ?? 0) + 1;
        if (a.status === 200) assert.is(a.checksum, want, 'a 200 is never a result partly written by a dead worker');
        else assert.ok(a.status === 503 && a.code === 'WORKER_FAILED', JSON.stringify(a));
      }
    }
    // one death per round: every band it held was retried once on another worker, so no job failed
    assert.equal(counts, { '200': ROUNDS * jobs.length * 2 }, JSON.stringify(counts));
    // the pools are back to full size and serve
    await waitFor('two kernel processes again', () => childPids(server.pid).length === 2);
    await server.hold();
    const full = jobs.flatMap((j) => [j, j]).map((j) => get(j.url));
    await waitFor('both pools full: every worker holds a band', everyWorkerBusy(server));
    await server.release();
    for (const a of await Promise.all(full)) assert.is(a.status, 200);
    for (const j of jobs) assert.is((await get(j.url)).checksum, j.checksum);
    assert.match(server.output().stderr, /chaos: SIGUSR2 killed kernel thread/);
    assert.match(server.output().stderr, /a kernel process died and is being replaced/);
  } finally {
    await server.stop();
  }
});

test('--max-inflight-bytes: 413 for a request alone over the cap, 503 + Retry-After while others hold it, released after', async () => {
  const cap = 8 * 2 ** 20;
  const server = await startServer(['--max-inflight-bytes', String(cap)]);
  const { hostname, port } = new URL(server.url);
  let holder: Socket | undefined;
  try {
    // 1500 x 1500 int32: 9 MB is over 8 MiB on its own
    const alone = await get(`${server.url}/threading?n=1500`);
    assert.is(alone.status, 413);
    assert.is(alone.code, 'SHAPE_TOO_LARGE');
    // matmul is charged for its output too: C of 1500 x 1500, though A and B are 1500 x 2 and 2 x 1500
    const matmul = await get(`${server.url}/matmul?m=1500&k=2&n=1500`);
    assert.equal([matmul.status, matmul.code], [413, 'SHAPE_TOO_LARGE']);
    assert.is((await get(`${server.url}/matmul?m=1000&k=2&n=1000`)).status, 200, '4 MB fits');

    // an upload that declared 7 MiB and stalls after 6 MiB holds 6 MiB of the cap: bytes are charged as they arrive
    const sent = 6 * 2 ** 20;
    holder = await new Promise<Socket>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(socket)).once('error', reject);
    });
    holder.on('error', () => {});
    holder.write(`POST /add?mode=wasm HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${sent + 2 ** 20}\r\n\r\n`);
    holder.write(Buffer.alloc(sent, 0x20));
    await waitFor('the 6 MiB to be charged', async () => (await scrapeMetric(server.url, 'wasmatrix_inflight_bytes')) >= sent);
    assert.is(await scrapeMetric(server.url, 'wasmatrix_inflight_bytes'), sent);

    const r = await fetch(`${server.url}/threading?n=1200`); // 5.8 MB does not fit next to it
    assert.is(r.status, 503);
    assert.is(r.headers.get('retry-after'), '1');
    assert.is(((await r.json()) as { code: string }).code, 'MEMORY_EXHAUSTED');
    assert.is((await get(`${server.url}/threading?n=100`)).status, 200, 'a small job still fits');

    holder.destroy();
    await waitFor('an abandoned upload to give its reservation back', async () => (await scrapeMetric(server.url, 'wasmatrix_inflight_bytes')) === 0);
    assert.is((await get(`${server.url}/threading?n=1200`)).status, 200);
  } finally {
    holder?.destroy();
    await server.stop();
  }
});

test('workers that can no longer start: the server says why and exits 1 instead of looping', async () => {
  // a copy of the built server whose process-worker entry then disappears (a deployment broken under a running server)
  const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-broken-'));
  try {
    for (const part of ['dist/src', 'build', 'config', 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const server = await startServer(['--processes', '1'], {}, { root: dir });
    try {
      unlinkSync(join(dir, 'dist/src/pools/process-worker.js'));
      process.kill(childPids(server.pid)[0]!, 'SIGKILL');
      // the back-off between the 5 attempts adds up to 1.5 s; a server that loops never exits
      const { code } = await guard('the server to give up and exit', server.exited, 60_000);
      assert.is(code, 1);
      const { stderr } = server.output();
      assert.match(stderr, /a kernel pool is down: process workers failed to start 5 times in a row/);
      assert.match(stderr, /stopped/);
    } finally {
      await server.stop('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** CPU ticks (user + system, all threads) a process has used, from /proc. */
const cpuTicks = (pid: number): number =>
  readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).map(Number).reduce((a, b) => a + b);

test('a closed stdout/stderr pipe neither stops the server nor makes it spin', async () => {
  const server = await startServer(['--chaos', '--access-log', '-']);
  // a process that does nothing but spin, beside it: on a shared machine the CPU a spinning server
  // would get in a window is what this one gets, so the check below does not depend on the machine's load
  const spinner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    server.child.stdout!.destroy();
    server.child.stderr!.destroy();
    // log writes that now fail with EPIPE: on stderr, a kernel thread killed and replaced (its pool
    // is full and ready after the start, so there is one to kill); on stdout, the access log
    process.kill(server.pid, 'SIGUSR2');
    await waitFor('the kill to be counted', async () => (await poolMetric(server, 'wasmatrix_pool_worker_restarts', 'threads')) === 1);
    for (let i = 0; i < 5; i++) assert.is((await get(`${server.url}/threading?n=10`)).status, 200);
    assert.is((await get(`${server.url}/threading?n=10`)).status, 200);
    const before = { server: cpuTicks(server.pid), spinner: cpuTicks(spinner.pid!) };
    await new Promise((r) => setTimeout(r, 1000));
    const used = { server: cpuTicks(server.pid) - before.server, spinner: cpuTicks(spinner.pid!) - before.spinner };
    console.log(`  [faults] CPU ticks in 1 s after EPIPE: server ${used.server}, a spinning process ${used.spinner}`);
    assert.ok(used.spinner >= 10, `the spinner got ${used.spinner} ticks: too few to compare with`);
    assert.ok(used.server * 4 < used.spinner, `the idle server used ${used.server} ticks of CPU in 1 s, a spinning process ${used.spinner}`);
    assert.is((await get(`${server.url}/threading?n=10`)).status, 200);
    // and it still shuts down cleanly: the access log's last lines cannot be written, which must not stop it
    const { code } = await server.stop('SIGTERM', 60_000);
    assert.is(code, 0, 'exit 0 on SIGTERM');
  } finally {
    spinner.kill('SIGKILL');
    await server.stop();
  }
});

test.run();
