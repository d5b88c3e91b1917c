// Faults seen from a client of the real server: kernel workers recycled
// (--max-requests) or crashed (--chaos SIGUSR2, SIGKILL of a child) under
// load, the in-flight memory cap (--max-inflight-bytes), and a pool that cannot
// start workers any more (the server says why and exits 1 instead of looping).

import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, startServer, waitFor } from './fixtures/http-server.ts';
import { childPids, metricSum, scrapeMetric } from './fixtures/server-inspect.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

test('crashed kernel workers (SIGUSR2 with --chaos, SIGKILL of a child) under load: every answer is right or a 503', async () => {
  const server = await startServer(['--chaos']);
  try {
    const jobs = await referenceJobs(server.url);
    const children = childPids(server.pid);
    assert.is(children.length, 2, 'two kernel processes');
    let stop = false;
    let kills = 0;
    const chaos = (async () => {
      while (!stop) {
        await sleep(250);
        const pids = childPids(server.pid);
        try {
          if (kills % 2 === 0) process.kill(server.pid, 'SIGUSR2');
          else if (pids.length) process.kill(pids[kills % pids.length]!, 'SIGKILL');
          kills++;
        } catch {
          stop = true; // the server is gone: the assertions below say why
        }
      }
    })();
    const counts: Record<string, number> = {};
    try {
      for (const until = Date.now() + 3000; Date.now() < until; ) {
        const answers = await Promise.all(jobs.map(async (j) => ({ a: await get(j.url), want: j.checksum })));
        for (const { a, want } of answers) {
          const key = a.status === 200 ? '200' : `${a.status} ${a.code}`;
          counts[key] = (counts[key] ?? 0) + 1;
          if (a.status === 200) assert.is(a.checksum, want, 'a 200 is never a result partly written by a dead worker');
          else assert.ok(a.status === 503 && a.code === 'WORKER_FAILED', JSON.stringify(a));
        }
      }
    } finally {
      stop = true;
      await chaos;
    }
    assert.ok(kills >= 8, `kills: ${kills}`);
    assert.ok((counts['200'] ?? 0) >= 50, JSON.stringify(counts));
    // the pools are back to full size (a replacement takes what it takes on a loaded machine) and serve
    await waitFor('the process pool back to 2 children', () => childPids(server.pid).length === 2);
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
    let held = 0;
    for (let i = 0; i < 100 && held < sent; i++) {
      await sleep(20);
      held = await scrapeMetric(server.url, 'wasmatrix_inflight_bytes');
    }
    assert.is(held, sent);

    const r = await fetch(`${server.url}/threading?n=1200`); // 5.8 MB does not fit next to it
    assert.is(r.status, 503);
    assert.is(r.headers.get('retry-after'), '1');
    assert.is(((await r.json()) as { code: string }).code, 'MEMORY_EXHAUSTED');
    assert.is((await get(`${server.url}/threading?n=100`)).status, 200, 'a small job still fits');

    holder.destroy();
    let after = -1;
    for (let i = 0; i < 50 && after !== 0; i++) {
      await sleep(20);
      after = await scrapeMetric(server.url, 'wasmatrix_inflight_bytes');
    }
    assert.is(after, 0, 'an abandoned upload gives its reservation back');
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
      const t0 = Date.now();
      const { code } = await server.exited;
      assert.is(code, 1);
      assert.ok(Date.now() - t0 < 15000);
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

test('a closed stdout/stderr pipe neither stops the server nor makes it spin', async () => {
  const server = await startServer(['--chaos']);
  try {
    server.child.stdout!.destroy();
    server.child.stderr!.destroy();
    await sleep(250);
    for (let i = 0; i < 5; i++) process.kill(server.pid, 'SIGUSR2'); // each one logs a line or two
    await sleep(300);
    const cpu = () => readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).map(Number).reduce((a, b) => a + b);
    const before = cpu();
    await sleep(1000);
    assert.ok(cpu() - before < 30, `the server used ${cpu() - before} ticks of CPU in 1 s while idle`);
    assert.is((await get(`${server.url}/threading?n=10`)).status, 200);
  } finally {
    await server.stop();
  }
});

test.run();
