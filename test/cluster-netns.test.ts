// The cluster faults run (npm run cluster-faults) passes: nats-server, 3
// worker hosts and the server, each in a network namespace of its own. Every
// op and dtype in mode=cluster equals the pure-TS reference bit for bit; under
// verified load a worker SIGKILLed and another cut off mid-band have their
// bands redelivered (every answer a verified 200), no worker and NATS down are
// 503 problems while the other modes answer 200, NATS restarted brings the
// cluster back, a stalled job is a 504. The run is a child process: it cleans
// up its namespaces and processes itself, and a run killed before it could is
// cleaned up by the next. Every wait in it is on observable state (a log line,
// a metric, an answer) with a generous bound; nothing is timed.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FaultsRun } from '../bench/cluster/cluster-faults.ts';
import { canUseNamespaces } from '../bench/cluster/network.ts';
import { skipOrFail, toolsPresent } from './fixtures/proxies.ts';
import { runScript } from './fixtures/run-script.ts';

const WHAT = 'cluster faults across network namespaces';

if (!toolsPresent(WHAT, ['nats-server', 'ip'])) {
  // said why
} else if (!canUseNamespaces()) {
  skipOrFail(WHAT, `${WHAT}: needs root and a working \`ip netns\``);
} else {
  test('nats-server, 3 worker hosts and the server in namespaces: cluster equals the reference bit for bit, and every fault under load ends in a verified 200 or its documented 503/504', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-cluster-faults-test-'));
    try {
      const { code, output } = await runScript('cluster-faults-main', join(dir, 'run')); // well under 3 minutes, or it is a failure
      assert.is(code, 0, output.slice(-5000));
      const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as FaultsRun;
      assert.ok(run.passed, run.failures.join('\n'));
      assert.is(run.network, 'netns');
      assert.is(run.exact.checked, 4 * 2 * 3, 'every op, GET and POST, every dtype');
      assert.is(run.exact.equal, run.exact.checked, run.exact.problems.join('\n'));
      const [warmup, kill, link, noWorker, nats, timeout, cooldown] = run.phases;
      assert.is(run.phases.length, 7, run.phases.map((p) => p.name).join(', '));
      for (const p of run.phases) {
        assert.is(p.failed + p.unanswered + p.connectionErrors, 0, `${p.name}: nothing failed`);
        assert.ok(p.verified > 0, `${p.name}: under load`);
      }
      for (const p of [warmup!, kill!, link!, cooldown!]) assert.equal(p.documented, {}, `${p.name}: every answer a verified 200`);
      for (const p of [kill!, link!]) assert.ok(p.bands.redelivered > 0, `${p.name}: a band redelivered`);
      for (const p of [noWorker!, nats!]) assert.ok(Object.keys(p.documented).some((k) => k.startsWith('503 ')), `${p.name}: cluster answered 503 under load`);
      assert.ok(timeout!.facts.some((f) => / x 504 TIMEOUT/.test(f)), timeout!.facts.join('\n'));
      assert.is(run.ledger.wrong + run.ledger.undocumented + run.ledger.unanswered, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test.run();
}
