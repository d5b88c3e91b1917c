// The failover run (npm run failover) passes: 3 hosts behind HAProxy under
// verified load, one host's process group SIGKILLed, another's link taken down
// (as root: network namespaces), every host restarted in turn; every request a
// verified 200, the requests in flight at each fault retried by the proxy, each
// host back in. The run is a child process: it cleans up its namespaces and
// processes itself, and a run killed before it could is cleaned up by the next.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FailoverRun } from '../bench/cluster/failover.ts';
import { canUseNamespaces } from '../bench/cluster/network.ts';
import { toolsPresent } from './fixtures/proxies.ts';
import { runScript } from './fixtures/run-script.ts';

if (toolsPresent('failover run', ['haproxy'])) {
  test(`3 hosts behind HAProxy (${canUseNamespaces() ? 'network namespaces' : '127.0.0.x'}): a host killed, a link cut, a rolling restart, and every request a verified 200`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-failover-test-'));
    try {
      const { code, output } = await runScript('failover-main', join(dir, 'run')); // well under 3 minutes, or it is a failure
      assert.is(code, 0, output.slice(-4000));
      const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as FailoverRun;
      assert.ok(run.passed, run.failures.join('\n'));
      const names = run.phases.map((p) => p.name);
      assert.is(names.length, run.network === 'netns' ? 5 : 4, names.join(', '));
      assert.is(run.network, canUseNamespaces() ? 'netns' : 'loopback');
      for (const p of run.phases) {
        assert.is(p.failed + p.unanswered + p.connectionErrors + p.responses5xx, 0, `${p.name}: nothing failed`);
        assert.ok(p.verified > 0, `${p.name}: under load`);
      }
      for (const p of run.phases.slice(1, -1)) assert.ok(p.retries > 0, `${p.name}: the requests in flight were retried`);
      assert.is(run.ledger.ok + run.ledger.undelivered, run.ledger.sent, 'every request sent was a verified 200');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test.run();
}
