// bench:kernels' data add cells, briefly: bare, fused and two-pass per kernel,
// dtype and n in the JSON, the traffic each variant is counted with, the
// printed table with the fused / bare ratio and the target, and the generated
// docs block (from fixture data: no timing is judged here).

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dataPasses, loadSources } from '../bench/docs/figures.ts';
import { passTarget, type PassCell, type PassRow } from '../bench/data-passes.ts';
import { ROOT } from '../src/paths.ts';
import { FAKE_KERNELS, fakeRun } from './fixtures/bench-results.ts';

const run = promisify(execFile);

test('--ops data-passes --json prints one row per kernel, dtype and n with bare, fused and two-pass, GB/s from the bytes each moves', async () => {
  const args = ['--json', '--quick', '--ops', 'data-passes', '--pass-sizes', '8,24', '--dtypes', 'int32,float64', '--only-table'];
  const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'dist', 'bench', 'kernels.js'), ...args], { cwd: ROOT, timeout: 120_000 });
  const json = JSON.parse(stdout) as { rows: unknown[]; passes: PassRow[] };
  assert.is(json.rows.length, 0, 'no table cells asked for');
  assert.is(json.passes.length, 2 * 2 * 2);
  for (const kernel of ['wasm', 'ts'])
    for (const dtype of ['int32', 'float64'] as const)
      for (const n of [8, 24]) {
        const r = json.passes.find((p) => p.kernel === kernel && p.dtype === dtype && p.n === n);
        assert.ok(r, `${kernel} ${dtype} n=${n}`);
        const bytes = dtype === 'float64' ? 8 : 4;
        for (const [variant, traffic] of [['bare', 3], ['fused', 3], ['two_pass', 4]] as const) {
          const c = r![variant];
          assert.ok(c.ns_per_element > 0 && c.min <= c.ns_per_element && c.ns_per_element <= c.max, `${variant}: ${JSON.stringify(c)}`);
          // gb_per_s is rounded to 4 digits, from the rounded ns
          assert.ok(Math.abs(c.gb_per_s - (traffic * bytes) / c.ns_per_element) <= 1e-3 * c.gb_per_s, `${variant} counts ${traffic} x ${bytes} bytes`);
        }
        // the median of side-by-side batch ratios: within the spread of the two variants
        assert.ok(r!.fused_vs_bare >= r!.fused.min / r!.bare.max && r!.fused_vs_bare <= r!.fused.max / r!.bare.min, `fused/bare ${r!.fused_vs_bare}`);
      }
  assert.match(stderr, /Data add, one band on one thread/);
  assert.match(stderr, /\nwasm\s+int32\s+24\s+[\d.]+/);
  // n < 500 only: the target has nothing to judge
  assert.not.match(stderr, /Target \(issue 14/);
});

const cell = (ns: number, bytes: number): PassCell => ({ ns_per_element: ns, min: ns, max: ns, gb_per_s: bytes / ns });
const row = (kernel: 'wasm' | 'ts', n: number, bare: number, fused: number): PassRow => ({
  op: 'add', kernel, dtype: 'int32', n, bare: cell(bare, 12), fused: cell(fused, 12), two_pass: cell(2 * bare, 16), fused_vs_bare: fused / bare, two_pass_vs_bare: 2,
});

test('the target is judged on wasm fused / bare at n >= 500 only, on the worst cell', () => {
  assert.is(passTarget([row('wasm', 64, 0.1, 0.5)]), undefined);
  const met = passTarget([row('wasm', 64, 0.1, 0.5), row('wasm', 500, 0.2, 0.22), row('ts', 500, 1, 3)]);
  assert.ok(met?.met);
  assert.match(met!.text, /worst 1\.10x \(int32 n=500\): met$/);
  const missed = passTarget([row('wasm', 500, 0.2, 0.22), row('wasm', 2048, 0.4, 0.48)]);
  assert.not.ok(missed?.met);
  assert.match(missed!.text, /worst 1\.20x \(int32 n=2048\): MISSED$/);
});

test('the data-passes docs block renders the run\'s rows and target, or says the result predates them', () => {
  const sources = loadSources(ROOT);
  const base = fakeRun();
  const md = dataPasses({ ...sources, run: { ...base, kernels: { ...FAKE_KERNELS, passes: [row('wasm', 500, 0.2, 0.21), row('ts', 500, 1.5, 2)] } } });
  assert.match(md, /\| wasm \| int32 \| 500 \| 0\.200 \(60\.0\) \| 0\.210 \(57\.1\) \| 0\.400 \(40\.0\) \| 1\.05x \| 2\.00x \|/);
  assert.match(md, /Target \(issue 14\): .*worst 1\.05x \(int32 n=500\): \*\*met\*\*\./);
  assert.match(dataPasses({ ...sources, run: { ...base, kernels: FAKE_KERNELS } }), /^Not in this result: .*data add passes.*run `npm run bench`/);
  assert.match(dataPasses({ ...sources, run: { ...base, kernels: { ...FAKE_KERNELS, passes: [] } } }), /not measured in this result/);
});

test.run();
