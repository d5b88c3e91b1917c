// A cluster job past --timeout is answered 504 and its bands are abandoned:
// the band a (held) worker is running is dropped when it finishes, the bands
// nobody took are purged from the work queue, no late answer counts, nothing
// stays in the stream, and the next job is right. The worker is held at its
// test gate, so nothing here depends on how long a kernel takes.

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { STREAM } from '../src/cluster/protocol.ts';
import type { RunningServer } from './fixtures/http-server.ts';
import { metric, startClusterServer, startNats, startWorker, waitFor, waitForWorkers, type Nats, type Worker } from './fixtures/nats.ts';
import { toolsPresent } from './fixtures/proxies.ts';

if (toolsPresent('cluster timeout', ['nats-server'])) {
  let nats: Nats | undefined;
  let server: RunningServer | undefined;
  let worker: Worker | undefined;

  test.before(async () => {
    nats = await startNats();
    worker = await startWorker(nats.url, 'slow', 1);
    server = await startClusterServer(nats, ['--timeout', '1']);
    await waitForWorkers(server, 1);
  });
  test.after(async () => {
    await server?.stop();
    await worker?.stop();
    await nats?.close();
  });

  const bands = (outcome: string): Promise<number> => metric(server!, `wasmatrix_cluster_bands_total{outcome="${outcome}"}`);

  test('past --timeout: 504, the running band and the queued band abandoned, no late answer, the stream empty, the next job right', async () => {
    await worker!.hold();
    // one band (one worker thread): the worker takes it and holds it
    const running = fetch(`${server!.url}/add?mode=cluster&rows=9&cols=9&seed=1`);
    await waitFor('the worker to take the band', () => worker!.bandsTaken().length === 1);
    // the worker's only thread is busy: this job's band waits in the stream until the deadline
    const queued = await fetch(`${server!.url}/add?mode=cluster&rows=9&cols=9&seed=2`);
    assert.is(queued.status, 504);
    assert.is(((await queued.json()) as { code: string }).code, 'TIMEOUT');
    const first = await running;
    assert.is(first.status, 504);
    assert.is(await bands('abandoned'), 2);
    await worker!.release();

    const ref = (await (await fetch(`${server!.url}/add?mode=ts&rows=9&cols=9&seed=3`)).json()) as { checksum: string };
    const next = await fetch(`${server!.url}/add?mode=cluster&rows=9&cols=9&seed=3`);
    assert.is(next.status, 200);
    assert.is(((await next.json()) as { checksum: string }).checksum, ref.checksum);
    assert.is(await bands('done'), 1, 'only the last job\'s band counted: the abandoned ones never answered late');
    assert.is(await bands('sent'), 3);

    const nc = await connect({ servers: nats!.url });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor('the work queue to be empty', async () => (await jsm.streams.info(STREAM)).state.messages === 0);
    } finally {
      await nc.close();
    }
  });

  test.run();
}
