// bench:kernels' matmul rows, briefly: tiny sizes, the JSON rows the issue
// names (one per mode, dtype and n, plus NumPy's when python3 has it), and the
// printed table with its targets section.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findPythonWithNumpy } from '../bench/numpy.ts';
import { ROOT } from '../src/paths.ts';

const run = promisify(execFile);

test('--ops matmul --json prints {op, mode, kernel, dtype, n, workers, gflops} rows for ts and wasm (and NumPy when found)', async () => {
  const args = ['--json', '--quick', '--ops', 'matmul', '--matmul-sizes', '8,24', '--modes', 'ts,wasm', '--only-table'];
  const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'dist', 'bench', 'kernels.js'), ...args], { cwd: ROOT, timeout: 120_000 });
  const rows = (JSON.parse(stdout) as { matmul: Record<string, unknown>[] }).matmul;
  for (const r of rows) assert.equal(Object.keys(r).sort(), ['dtype', 'gflops', 'kernel', 'mode', 'n', 'op', 'workers'], JSON.stringify(r));
  for (const mode of ['ts', 'wasm'])
    for (const dtype of ['float32', 'float64'])
      for (const n of [8, 24]) {
        const row = rows.find((r) => r.mode === mode && r.dtype === dtype && r.n === n);
        assert.ok(row, `${mode} ${dtype} n=${n} missing`);
        assert.is(row!.op, 'matmul');
        assert.is(row!.workers, 1);
        assert.ok(typeof row!.gflops === 'number' && row!.gflops > 0, `${mode} ${dtype} n=${n} gflops`);
      }
  const numpy = rows.filter((r) => r.mode === 'numpy');
  if (findPythonWithNumpy()) {
    assert.ok(numpy.some((r) => r.workers === 1) && numpy.length >= 4, 'NumPy rows on one thread');
    assert.match(stderr, /NumPy \S+ \(.*\), BLAS .*, kernel /);
  } else assert.is(numpy.length, 0);
  assert.match(stderr, /matmul\s+wasm\s+wasm\s+float32\s+24\s+1\s+[\d.]+/);
  assert.match(stderr, /Targets \(issue 9/);
});

test('--clock cpu keeps only the one-core cells (ts, wasm, NumPy on one thread) and says it', async () => {
  const args = ['--json', '--quick', '--ops', 'matmul', '--matmul-sizes', '16', '--clock', 'cpu', '--only-table'];
  const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'dist', 'bench', 'kernels.js'), ...args], { cwd: ROOT, timeout: 120_000 });
  const rows = (JSON.parse(stdout) as { matmul: Record<string, unknown>[] }).matmul;
  assert.equal([...new Set(rows.map((r) => r.mode))].filter((m) => m !== 'numpy').sort(), ['ts', 'wasm']);
  assert.ok(rows.every((r) => r.workers === 1), 'one worker everywhere');
  assert.match(stderr, /CPU seconds of this process \(--clock cpu\)/);
});

test.run();
