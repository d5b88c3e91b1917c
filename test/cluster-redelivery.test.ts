// A worker host that dies holding a band loses nothing: JetStream redelivers
// the band (at the --ack-wait of 1 s these tests use) to another worker and the
// job completes with the right checksum. A worker stopped with SIGTERM while it
// runs a band finishes it, leaves the cluster and exits 0. Workers are held at
// their test gate: nothing depends on how long a kernel takes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningServer } from './fixtures/http-server.ts';
import { metric, startClusterServer, startNats, startWorker, waitFor, waitForWorkers, type Nats, type Worker } from './fixtures/nats.ts';
import { toolsPresent } from './fixtures/proxies.ts';

if (toolsPresent('cluster redelivery', ['nats-server'])) {
  let nats: Nats | undefined;
  let server: RunningServer | undefined;
  const workers: Worker[] = [];

  test.before(async () => {
    nats = await startNats();
    server = await startClusterServer(nats);
  });
  test.after(async () => {
    await server?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await nats?.close();
  });

  const checksumOf = async (res: Response | Promise<Response>): Promise<{ status: number; checksum: string }> => {
    const r = await res;
    return { status: r.status, checksum: ((await r.json()) as { checksum: string }).checksum };
  };

  test('a worker SIGKILLed while it holds a band: the band is redelivered to another worker, the answer is right', async () => {
    const doomed = await startWorker(nats!.url, 'doomed', 1);
    workers.push(doomed);
    await waitForWorkers(server!, 1);
    await doomed.hold();
    const path = '/matmul?m=33&k=17&n=9&dtype=float64&seed=11';
    const expected = await checksumOf(fetch(`${server!.url}${path}&mode=ts`));
    const job = checksumOf(fetch(`${server!.url}${path}&mode=cluster`));
    await waitFor('the doomed worker to take the band', () => doomed.bandsTaken().length === 1);
    await doomed.stop('SIGKILL');
    const rescuer = await startWorker(nats!.url, 'rescuer', 1);
    workers.push(rescuer);
    const got = await job;
    assert.is(got.status, 200);
    assert.is(got.checksum, expected.checksum);
    const taken = rescuer.bandsTaken();
    assert.is(taken.length, 1);
    assert.is(taken[0]!.job, doomed.bandsTaken()[0]!.job);
    assert.is(taken[0]!.delivery, 2, 'the second delivery of the band');
    assert.is(await metric(server!, 'wasmatrix_cluster_bands_total{outcome="redelivered"}'), 1);
    await waitForWorkers(server!, 1);
  });

  test('a worker frozen (SIGSTOP) holding a band: redelivered to another worker, the answer is right; its late duplicate, once it thaws, is ignored', async () => {
    for (const w of workers) await w.stop();
    const frozen = await startWorker(nats!.url, 'frozen', 1);
    workers.push(frozen);
    await waitForWorkers(server!, 1);
    await frozen.hold();
    const path = '/mul?rows=21&cols=5&dtype=int32&seed=8';
    const expected = await checksumOf(fetch(`${server!.url}${path}&mode=ts`));
    const doneBefore = await metric(server!, 'wasmatrix_cluster_bands_total{outcome="done"}');
    const job = checksumOf(fetch(`${server!.url}${path}&mode=cluster`));
    await waitFor('the frozen worker to take the band', () => frozen.bandsTaken().length === 1);
    // frozen, it reports no progress: past ack_wait JetStream gives the band to another worker
    process.kill(frozen.pid, 'SIGSTOP');
    try {
      const thawed = await startWorker(nats!.url, 'thawed', 1);
      workers.push(thawed);
      const got = await job;
      assert.is(got.status, 200);
      assert.is(got.checksum, expected.checksum);
      assert.is(thawed.bandsTaken()[0]?.delivery, 2);
    } finally {
      process.kill(frozen.pid, 'SIGCONT');
    }
    // thawed and released, the frozen worker finishes its copy of the band and answers (a job already
    // answered) before its SIGTERM exit
    await frozen.release();
    assert.equal(await frozen.stop(), { code: 0, signal: null });
    assert.is(await metric(server!, 'wasmatrix_cluster_bands_total{outcome="done"}'), doneBefore + 1, 'one band, counted once');
    const again = await checksumOf(fetch(`${server!.url}${path}&mode=cluster`));
    assert.equal(again, expected, 'the next job is right');
  });

  test('SIGTERM while a band runs: the worker finishes it, leaves and exits 0; the answer is right', async () => {
    const leaving = await startWorker(nats!.url, 'leaving', 1);
    workers.push(leaving);
    for (const w of workers.filter((w) => w !== leaving)) await w.stop();
    await waitForWorkers(server!, 1);
    await leaving.hold();
    const path = '/sub?rows=40&cols=3&dtype=float32&seed=4';
    const expected = await checksumOf(fetch(`${server!.url}${path}&mode=ts`));
    const job = checksumOf(fetch(`${server!.url}${path}&mode=cluster`));
    await waitFor('the worker to take the band', () => leaving.bandsTaken().length === 1);
    const end = leaving.stop('SIGTERM');
    await waitFor('the worker to start leaving', () => /SIGTERM: finishing the bands in hand/.test(leaving.output()));
    await leaving.release();
    assert.equal(await end, { code: 0, signal: null });
    const got = await job;
    assert.is(got.status, 200);
    assert.is(got.checksum, expected.checksum);
    assert.is(leaving.bandsTaken().length, 1);
    await waitForWorkers(server!, 0);
  });

  test.run();
}
