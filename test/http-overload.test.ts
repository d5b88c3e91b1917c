// Overload and slow jobs: a full queue answers 503 with Retry-After at once, a
// job past --timeout answers 504, and the server goes on serving; a 500 never
// shows its cause to the client.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { problemBody, toClientError } from '../src/http/problem.ts';
import { startServer } from './fixtures/http-server.ts';

/** About 0.3 s of TS kernel in one process. */
const SLOW = '/multiprocessing?n=4096&dtype=float64&kernel=ts&workers=1';

test('a full queue answers 503 with Retry-After; the others are served', async () => {
  const server = await startServer(['--processes', '1', '--max-queue', '1']);
  try {
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map(async (seed) => {
        const r = await fetch(`${server.url}${SLOW}&seed=${seed}`);
        return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { code?: string } };
      }),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.ok(statuses.includes(200) && statuses.includes(503), statuses.join(','));
    for (const a of answers) {
      assert.ok(a.status === 200 || a.status === 503, String(a.status));
      if (a.status === 503) {
        assert.is(a.retryAfter, '1');
        assert.is(a.body.code, 'QUEUE_FULL');
      }
    }
    assert.is((await fetch(`${server.url}/threading?n=10`)).status, 200);
  } finally {
    await server.stop();
  }
});

test('a job past --timeout answers 504, and the next request is served', async () => {
  const server = await startServer(['--processes', '1', '--timeout', '0.05']);
  try {
    const r = await fetch(server.url + SLOW);
    assert.is(r.status, 504);
    assert.is(((await r.json()) as { code: string }).code, 'TIMEOUT');
    // the killed process is being replaced (a fork takes longer than this 50 ms deadline): the thread pool serves
    const ok = await fetch(`${server.url}/threading?n=10`);
    assert.is(ok.status, 200);
  } finally {
    await server.stop();
  }
});

test('a 500 tells the client nothing about its cause', () => {
  const secret = new Error('secret detail');
  const body = problemBody(toClientError(secret), '/add');
  const p = JSON.parse(body) as { status: number; detail: string };
  assert.is(p.status, 500);
  assert.not.ok(body.includes('secret'));
  assert.not.ok(body.includes('.ts:'));
});

test.run();
