// mode=cluster with nothing to run it on answers 503 CLUSTER_UNAVAILABLE at
// once, saying what is missing (--nats, NATS itself, a live worker), while the
// other modes keep serving; it serves again once the missing piece is back
// (the server and the worker reconnect to a restarted NATS by themselves).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningServer } from './fixtures/http-server.ts';
import { clusterHealth, startClusterServer, startNats, startWorker, waitFor, waitForWorkers, type Nats, type Worker } from './fixtures/nats.ts';
import { toolsPresent } from './fixtures/proxies.ts';

const JOB = '/add?rows=17&cols=65&dtype=int32&seed=5';

async function get(server: RunningServer, path: string): Promise<{ status: number; retryAfter: string | null; body: { code?: string; detail?: string; checksum?: string } }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { code?: string; detail?: string; checksum?: string } };
}

async function assertUnavailable(server: RunningServer, detail: RegExp): Promise<void> {
  const r = await get(server, `${JOB}&mode=cluster`);
  assert.is(r.status, 503);
  assert.is(r.body.code, 'CLUSTER_UNAVAILABLE');
  assert.match(r.body.detail ?? '', detail);
  const other = await get(server, `${JOB}&mode=wasm`);
  assert.is(other.status, 200, 'the other modes keep serving');
}

test('a server started without --nats answers mode=cluster with 503 naming --nats, for GET and POST, and serves the other modes', async () => {
  const server = await startClusterServer(undefined);
  try {
    await assertUnavailable(server, /without --nats/);
    const post = await fetch(`${server.url}/matmul?mode=cluster`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[[1,2]],"b":[[3],[4]]}' });
    assert.is(post.status, 503);
    assert.equal(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' }, 'no cluster state without --nats');
  } finally {
    await server.stop();
  }
});

if (toolsPresent('cluster unavailable', ['nats-server'])) {
  let nats: Nats | undefined;
  let server: RunningServer | undefined;
  let worker: Worker | undefined;
  let expected = '';

  test.before(async () => {
    nats = await startNats();
    // two HTTP threads: an acceptor thread answers with the main thread's cluster state and forwards cluster jobs
    server = await startClusterServer(nats, ['-w', '2']);
    await waitFor('the server to connect to NATS', async () => (await clusterHealth(server!)).connected);
    expected = (await get(server, `${JOB}&mode=ts`)).body.checksum!;
  });
  test.after(async () => {
    await server?.stop();
    await worker?.stop();
    await nats?.close();
  });

  test('with NATS but no worker: 503 saying to start one, with Retry-After; once a worker is live: the right answer', async () => {
    const r = await get(server!, `${JOB}&mode=cluster`);
    assert.is(r.retryAfter, '1');
    await assertUnavailable(server!, /no worker host is live/);
    worker = await startWorker(nats!.url, 'lonely');
    await waitForWorkers(server!, 1);
    // fresh connections land on either HTTP thread: every one of them comes to know the worker
    await waitFor('both HTTP threads to list the worker', async () => {
      const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(`${server!.url}/healthz`, { headers: { connection: 'close' } }).then((r) => r.json() as Promise<{ cluster?: { names: string[] } }>)));
      return answers.every((a) => a.cluster?.names.join() === 'lonely');
    });
    const ok = await get(server!, `${JOB}&mode=cluster`);
    assert.is(ok.status, 200);
    assert.is(ok.body.checksum, expected);
  });

  test('NATS stopped: 503 saying NATS is not reachable, the other modes and /healthz serve; NATS back: server and worker reconnect and cluster jobs are right again', async () => {
    await nats!.stop();
    await waitFor('the server to notice NATS is gone', async () => !(await clusterHealth(server!)).connected);
    await assertUnavailable(server!, /not reachable/);
    assert.is((await fetch(`${server!.url}/healthz`)).status, 200);
    await nats!.start();
    // a restarted NATS (memory storage) has no stream any more: both sides create it again
    await waitForWorkers(server!, 1);
    const ok = await get(server!, `${JOB}&mode=cluster`);
    assert.is(ok.status, 200, JSON.stringify(ok.body));
    assert.is(ok.body.checksum, expected);
  });

  test('NATS without JetStream: 503 saying to start nats-server with -js', async () => {
    const plain = await startNats({ jetstream: false });
    const other = await startClusterServer(plain);
    try {
      await waitFor('the server to find NATS without JetStream', async () => {
        const r = await get(other, `${JOB}&mode=cluster`);
        return r.status === 503 && /no usable JetStream \(start nats-server with -js\)/.test(r.body.detail ?? '');
      });
    } finally {
      await other.stop();
      await plain.close();
    }
  });

  test.run();
} else test.run();
