// bench:kernels' matmul rows for the pool modes, briefly: threads on every
// worker count of the pool, processes likewise, auto once (with the mode it
// picked), all as {op, mode, kernel, dtype, n, workers, gflops} rows.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../src/paths.ts';

const run = promisify(execFile);

test('--ops matmul --modes threads,processes,auto: one row per worker count of each pool, and auto', async () => {
  const args = ['--json', '--quick', '--ops', 'matmul', '--matmul-sizes', '16', '--dtypes', 'float32', '--modes', 'threads,processes,auto', '--workers', '2', '--only-table'];
  const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'dist', 'bench', 'kernels.js'), ...args], { cwd: ROOT, timeout: 120_000 });
  const rows = (JSON.parse(stdout) as { matmul: Record<string, unknown>[] }).matmul.filter((r) => r.mode !== 'numpy');
  for (const r of rows) {
    const keys = ['dtype', 'gflops', 'kernel', 'mode', 'n', 'op', 'workers', ...(r.mode === 'auto' ? ['picked'] : [])];
    assert.equal(Object.keys(r).sort(), keys.sort(), JSON.stringify(r));
  }
  assert.is(rows.find((r) => r.mode === 'auto')!.picked, 'wasm', 'auto says what it picked');
  const cells = rows.map((r) => `${r.mode}/${r.workers}`);
  assert.equal(cells, ['threads/1', 'threads/2', 'processes/1', 'processes/2', 'auto/1'], stderr);
  for (const r of rows) assert.ok(r.op === 'matmul' && r.kernel === 'wasm' && r.n === 16 && typeof r.gflops === 'number' && r.gflops > 0, JSON.stringify(r));
  assert.match(stderr, /matmul\s+auto \(wasm\)\s+wasm\s+float32\s+16\s+1/, 'the table says what auto picked');
});

test.run();
