// auto sends a job to the cluster only from thresholds.cluster for its op and
// only while worker hosts are live (here with a thresholds file whose cluster
// switch point is tiny, through WASMATRIX_AUTO_THRESHOLDS).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_THRESHOLDS_PATH, type ThresholdsFile } from '../src/engines/auto-thresholds.ts';
import { startServer, type RunningServer } from './fixtures/http-server.ts';
import { startNats, startWorker, waitForWorkers, type Nats, type Worker } from './fixtures/nats.ts';
import { toolsPresent } from './fixtures/proxies.ts';

if (toolsPresent('cluster auto', ['nats-server'])) {
  const dir = mkdtempSync(join(tmpdir(), `wasmatrix-cluster-auto-${process.pid}-`));
  let nats: Nats | undefined;
  let server: RunningServer | undefined;
  let worker: Worker | undefined;

  test.before(async () => {
    const file = JSON.parse(readFileSync(DEFAULT_THRESHOLDS_PATH, 'utf8')) as ThresholdsFile;
    file.thresholds.cluster = { add: 100 };
    writeFileSync(join(dir, 'thresholds.json'), JSON.stringify(file));
    nats = await startNats();
    worker = await startWorker(nats.url, 'auto-1', 1);
    server = await startServer(['--nats', nats.url, '--threads', '1', '--processes', '1'], { WASMATRIX_AUTO_THRESHOLDS: join(dir, 'thresholds.json') });
    await waitForWorkers(server, 1);
  });
  test.after(async () => {
    await server?.stop();
    await worker?.stop();
    await nats?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const modeOf = async (path: string): Promise<string> => ((await (await fetch(`${server!.url}${path}`)).json()) as { mode: string }).mode;

  test('auto: the cluster from the threshold while a worker is live; the calling thread below it, for other ops, and once no worker is left', async () => {
    assert.is(await modeOf('/add?mode=auto&n=10&seed=1'), 'cluster', '100 elements: at the threshold');
    assert.is(await modeOf('/add?mode=auto&n=9&seed=1'), 'wasm', '81 elements: below it');
    assert.is(await modeOf('/sub?mode=auto&n=10&seed=1'), 'wasm', 'sub has no cluster threshold');
    assert.is(await modeOf('/add?mode=auto&n=10&seed=1&workers=1'), 'wasm', 'a job naming its workers stays here');
    await worker!.stop();
    await waitForWorkers(server!, 0);
    assert.is(await modeOf('/add?mode=auto&n=10&seed=1'), 'wasm', 'no live worker');
  });

  test.run();
}
