// A shutdown under load ends, every time: SIGTERM while the thread pool is
// busy with bands of requests whose clients just went away. (It used to hang,
// about 1 shutdown in 15, at 100% CPU: the pool's close overwrote a band's
// unread answer and the hand-off spun on a state that never changed.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, waitFor } from './fixtures/http-server.ts';
import { scrapeMetric } from './fixtures/server-inspect.ts';

const ROUNDS = 12;
/** A generous guard, not a measurement: a clean shutdown here takes well under a second. */
const HANG_MS = 30000;

test(`SIGTERM under load with aborted requests in flight ends with exit 0, ${ROUNDS} times in a row`, async () => {
  for (let round = 1; round <= ROUNDS; round++) {
    const server = await startServer(['--threads', '2', '--processes', '1', '--graceful-timeout', '5']);
    const controllers: AbortController[] = [];
    let stopping = false;
    try {
      // 4 clients in a loop on multi-band jobs; every other request is abandoned as soon as it is sent
      const clients = Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; !stopping; i++) {
          const controller = new AbortController();
          controllers.push(controller);
          const answer = fetch(`${server.url}/threading?n=1200&workers=2&seed=${round * 1000 + c * 100 + i}`, { signal: controller.signal }).then(
            (r) => r.arrayBuffer(),
            () => undefined,
          );
          if (i % 2 === 1) controller.abort();
          await answer;
        }
      });
      await waitFor('the thread pool to be busy', async () => (await scrapeMetric(server.url, 'wasmatrix_pool_busy_workers', { pool: 'threads' })) > 0);
      // abandon everything in flight, then ask the server to stop while those bands still run
      for (const c of controllers) c.abort();
      process.kill(server.pid, 'SIGTERM');
      const hang = new Promise<'hang'>((r) => setTimeout(r, HANG_MS, 'hang').unref());
      const ended = await Promise.race([server.exited, hang]);
      assert.ok(ended !== 'hang', `round ${round}: the server did not exit within ${HANG_MS} ms of SIGTERM (hung); stderr: ${server.output().stderr.slice(-2000)}`);
      assert.is(ended.code, 0, `round ${round}: exit code; stderr: ${server.output().stderr.slice(-2000)}`);
      stopping = true;
      await Promise.all(clients);
    } finally {
      stopping = true;
      for (const c of controllers) c.abort();
      await server.stop('SIGKILL');
    }
  }
});

test.run();
