// The docs' examples are real: every ```console session of README.md and
// docs/*.md is run in order against one fresh server and must print what the
// docs show (volatile values aside: bench/docs/examples.ts), and the NumPy
// snippets run, exactly as printed, with every Python on the machine that has
// NumPy, against what the server sends.
//
// WASMATRIX_UPDATE_DOCS=1 (npm run docs:examples) writes the real output into
// the docs instead of comparing.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../src/paths.ts';
import { docFiles } from '../bench/docs/blocks.ts';
import { DOCS_ADDRESS, maskVolatile, parseSessions, pythonBlock, replaceSessions, runStep, type Step } from '../bench/docs/examples.ts';
import { startServer, type RunningServer } from './fixtures/http-server.ts';

const UPDATE = process.env.WASMATRIX_UPDATE_DOCS === '1';
const IN_CI = process.env.CI === 'true';
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

let server: RunningServer;
let address: string;
let cwd: string;
test.before(async () => {
  server = await startServer();
  address = new URL(server.url).host;
  cwd = mkdtempSync(join(tmpdir(), `wasmatrix-docs-${process.pid}-`));
});
test.after(async () => {
  await server.stop();
  rmSync(cwd, { recursive: true, force: true });
});

test('every console session in the README and docs/ prints what the docs show', () => {
  const mismatches: string[] = [];
  let steps = 0;
  for (const file of docFiles(ROOT)) {
    const text = read(file);
    const sessions = parseSessions(text);
    const ran: Step[][] = sessions.map((s) => s.steps.map((step) => ({ command: step.command, output: runStep(step.command, address, cwd) })));
    sessions.forEach((s, i) =>
      s.steps.forEach((step, j) => {
        steps++;
        const real = ran[i]![j]!.output;
        if (maskVolatile(real) !== maskVolatile(step.output)) mismatches.push(`${file}: $ ${step.command}\n--- the docs show:\n${step.output}\n--- it printed:\n${real}`);
      }),
    );
    if (UPDATE) writeFileSync(join(ROOT, file), replaceSessions(text, sessions, ran));
  }
  assert.ok(steps >= 10, `only ${steps} commands in console blocks`);
  if (!UPDATE) assert.is(mismatches.length, 0, `${mismatches.join('\n\n')}\n\n(npm run docs:examples writes the real output)`);
});

test('the session parser keeps continued commands together and outputs apart', () => {
  const [s] = parseSessions('```console\n$ printf a |\n    cat\na\n\nb\n$ echo x \\\n  y\nx y\n$ true\n```\n');
  assert.equal(s!.steps, [
    { command: 'printf a |\n    cat', output: 'a\n\nb' },
    { command: 'echo x \\\n  y', output: 'x y' },
    { command: 'true', output: '' },
  ]);
  assert.is(maskVolatile('Date: Tue\n{"execution_time_sec":0.0012,"x":1}\nContent-Length: 12'), 'Date: <date>\n{"execution_time_sec":<t>,"x":1}\nContent-Length: <n>');
  assert.is(maskVolatile('Content-Length: 12'), 'Content-Length: 12', 'a length next to no timing is checked');
});

// ---- the NumPy snippets -------------------------------------------------------

interface Python {
  command: string;
  numpy: string;
}

/** `python3` on PATH and Debian's /usr/bin/python3, once each, when they import NumPy. */
function pythonsWithNumpy(): Python[] {
  const found = new Map<string, Python>();
  for (const command of ['python3', '/usr/bin/python3']) {
    try {
      const out = execFileSync(command, ['-c', 'import sys, numpy; print(sys.executable); print(numpy.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const [exe, numpy] = out.trim().split('\n') as [string, string];
      const real = realpathSync(exe);
      if (!found.has(real)) found.set(real, { command, numpy });
    } catch {
      // not installed, or no NumPy
    }
  }
  return [...found.values()];
}

const pythons = pythonsWithNumpy();

/** The Pythons to run a snippet with; in CI, Debian's NumPy must be among them (.ci/run installs python3-numpy). */
function pythonsOrSkip(what: string): Python[] {
  if (IN_CI) {
    assert.ok(pythons.length > 0, `CI: no Python with NumPy found, so ${what} cannot be run: .ci/run installs python3-numpy`);
    assert.ok(pythons.some((p) => p.command === '/usr/bin/python3'), `CI: /usr/bin/python3 has no NumPy (.ci/run installs python3-numpy); found ${JSON.stringify(pythons)}`);
  }
  if (pythons.length === 0) console.log(`  (SKIPPED: no python3 with NumPy on this machine, so ${what} was not run; CI fails instead)`);
  else console.log(`  (${what}: ${pythons.map((p) => `${p.command} NumPy ${p.numpy}`).join(', ')})`);
  return pythons;
}

const CHECKSUM = pythonBlock(read('docs/kernels.md'), '# wasmatrix checksum of a whole result (int32, float32 or float64), as the API prints it', 'docs/kernels.md');
const CLIENT = pythonBlock(read('docs/api.md'), '# POST two NumPy matrices, get their sum back as raw float64', 'docs/api.md');
const NUMPY_DTYPE = { int32: '<i4', float32: '<f4', float64: '<f8' } as const;

test('the checksum snippet of docs/kernels.md gives the x-checksum of results the server sent, in every dtype', async () => {
  const [rows, cols] = [33, 17];
  const count = rows * cols;
  for (const python of pythonsOrSkip('the checksum snippet')) {
    for (const dtype of ['int32', 'float32', 'float64'] as const) {
      const matrix = (value: (i: number) => number): Int32Array | Float32Array | Float64Array => {
        const m = new { int32: Int32Array, float32: Float32Array, float64: Float64Array }[dtype](count);
        for (let i = 0; i < count; i++) m[i] = value(i);
        return m;
      };
      // int32 sums that wrap around, floats that round
      const a = matrix((i) => (dtype === 'int32' ? 2 ** 31 - 1 - i * 7919 : i * 0.37 - 50));
      const b = matrix((i) => (dtype === 'int32' ? i * 104729 : 1 / (i + 1)));
      const res = await fetch(`${server.url}/add?rows=${rows}&cols=${cols}&dtype=${dtype}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.concat([Buffer.from(a.buffer), Buffer.from(b.buffer)]),
      });
      assert.is(res.status, 200);
      const result = Buffer.from(await res.arrayBuffer());
      const program = `${CHECKSUM}\nimport sys\nraw = sys.stdin.buffer.read()\nprint(wasmatrix_checksum(np.frombuffer(raw, dtype='${NUMPY_DTYPE[dtype]}').reshape(${rows}, ${cols})))\n`;
      const printed = execFileSync(python.command, ['-c', program], { input: result, encoding: 'utf8' }).trim();
      assert.is(printed, res.headers.get('x-checksum'), `${python.command} (NumPy ${python.numpy}), ${dtype}`);
    }
  }
});

test('the NumPy client of docs/api.md runs against the server as printed', () => {
  for (const python of pythonsOrSkip('the NumPy client')) {
    const program = CLIENT.replaceAll(DOCS_ADDRESS, address);
    // it asserts the sum itself: a wrong answer or an HTTP error is a non-zero exit
    execFileSync(python.command, ['-c', program], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  }
});

test.run();
