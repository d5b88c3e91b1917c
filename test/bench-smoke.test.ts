// The real thing, briefly: npm run bench's compiled entry starts the production
// server, runs one mode at one size for one second, folds in a tiny kernel
// benchmark, writes the report and stops every process it started.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../src/paths.ts';

const run = promisify(execFile);

test('one mode, one size, one second: report files exist and parse, every answer checked, nothing left running', async () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  try {
    // --no-stall: test/http-stall floods the server already; here the run only has to leave it out
    const args = ['--modes', 'wasm', '--sizes', '64', '--duration', '1', '--warmup', '0.2', '--connections', '4', '--no-stall', '--no-lab', '--out', out];
    const kernels = '--kernels-args=--quick --dtypes int32 --sizes 64 --modes ts,wasm --ops random+add --only-table';
    const { stdout } = await run(process.execPath, [join(ROOT, 'dist', 'bench', 'run.js'), ...args, kernels], { cwd: ROOT, timeout: 180_000 });
    assert.match(stdout, /GET \/add\?mode=wasm\s+64\s+[\d,]+/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const [c] = results.cases;
    assert.is(results.cases.length, 1);
    assert.is(c.status, 'ok', c.problems.join('; '));
    assert.ok(c.requests_per_sec > 0);
    assert.is(c.verification.wrong, 0);
    assert.ok(c.verification.checked >= c.responses && c.responses > 0);
    assert.ok(c.resources.processes >= 1 && c.resources.rss_peak_mb > 0);
    assert.is(results.kernels.status, 'ok', results.kernels.problem);
    assert.ok(results.kernels.rows.length >= 2);
    assert.is(results.stall, null);
    assert.is(results.lab_job, null);
    assert.is(c.generator.tool, existsSync('/usr/bin/wrk') ? 'wrk' : 'autocannon');
    const pid = results.server.pid;
    assert.throws(() => process.kill(-pid, 0), /ESRCH/, 'the server and its pools are gone');
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /## Kernels without HTTP/);
    for (const svg of ['requests.svg', 'latency.svg', 'resources.svg']) assert.match(readFileSync(join(out, svg), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
