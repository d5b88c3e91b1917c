// The child of ts-isolated.ts: times one TS cell in this fresh process and
// prints its Timing as JSON on stdout.
//
//   node dist/bench/ts-cell.js '{"cell": {...}, "measure": {...}}'
//
// A table cell runs exactly what prepareCase times for mode ts. Jobs that the
// ts mode hands to its dedicated kernel thread (random jobs above
// INLINE_MAX_ELEMENTS) need the engines; every other cell needs only the TS
// kernels, so no pool is started for it.

import { createEngines, type Engines } from '../src/engines/index.js';
import { INLINE_MAX_ELEMENTS, LocalEngine } from '../src/engines/local-engine.js';
import { TsKernels } from '../src/kernels/ts-kernels.js';
import { Arena } from '../src/memory/arena.js';
import { callerData, prepareCase, type LocalKernels } from './cases.js';
import { measure, type MeasureOptions, type Timing } from './measure.js';
import { timeKernel } from './roofline.js';
import { decodeRequest, type TsCell } from './ts-isolated.js';

async function timeCell(cell: TsCell, options: MeasureOptions): Promise<Timing> {
  const arena = new Arena({ shared: false });
  const ts = { kernels: new TsKernels(arena.memory), arena };
  if (cell.kind === 'kernel') return timeKernel(ts, cell.kernel, cell.n, options);
  const { spec } = cell;
  if (spec.mode !== 'ts') throw new TypeError(`ts-cell: mode ${spec.mode} is not the baseline`);
  const offloads = spec.op !== 'add' && spec.n * spec.n > INLINE_MAX_ELEMENTS;
  const data = spec.op === 'add' ? { a: callerData(spec.dtype, spec.n * spec.n), b: callerData(spec.dtype, spec.n * spec.n) } : { a: new Int32Array(0), b: new Int32Array(0) };
  let engines: Engines | undefined;
  try {
    // mode ts uses engines.get('ts') (random jobs) and local.ts (caller data) only: an inline job
    // runs in LocalEngine.runSync whether or not an offload pool exists
    engines = offloads ? await createEngines({ threads: 1, processes: 1 }) : undefined;
    const stub = { get: () => new LocalEngine(ts.kernels, arena) } as unknown as Engines;
    const local = { ts, wasm: ts } as LocalKernels;
    const prepared = prepareCase(engines ?? stub, local, spec, data);
    try {
      return await measure(prepared.call, options);
    } finally {
      prepared.dispose();
    }
  } finally {
    await engines?.close();
  }
}

const request = decodeRequest(process.argv[2]);
timeCell(request.cell, request.measure).then(
  (t) => process.stdout.write(JSON.stringify(t)),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exitCode = 1;
  },
);
