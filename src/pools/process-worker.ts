// A kernel child process: its own WASM instance over its own memory. Serves
// band tasks from the parent over IPC and exits when the parent goes away (the
// IPC channel closes), so a child never outlives the server, even after a
// kill -9 of the parent.

import { ELEMENT_BYTES, viewOf } from '../kernels/dtype.js';
import { TsKernels } from '../kernels/ts-kernels.js';
import { WasmKernels, compileKernels } from '../kernels/wasm-kernels.js';
import { Arena } from '../memory/arena.js';
import { operation } from '../ops/index.js';
import type { FromChild, ProcessResult, ProcessTask, ToChild } from './process-protocol.js';

const arena = new Arena({ shared: true });
const { module, simd } = compileKernels();
const kernels = { wasm: new WasmKernels(module, arena.memory), ts: new TsKernels(arena.memory) };

// A terminal's Ctrl-C, `timeout` and systemd (KillMode=control-group) signal the whole process group, this
// child included. The server decides what a shutdown means (drain, then close the pool): a child that died
// of the group's SIGINT/SIGTERM would look like a crash and be replaced mid-drain. So the child ignores them
// and leaves when the server tells it to, or when the server is gone (the IPC channel closes).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});

function send(message: FromChild): void {
  // the parent may be gone already: then 'disconnect' ends this process (the callback swallows EPIPE)
  if (process.connected) process.send!(message, undefined, undefined, () => {});
}

function runTask(task: ProcessTask): ProcessResult {
  const size = ELEMENT_BYTES[task.dtype];
  const count = task.rows * task.cols;
  const data = task.seed === undefined;
  const op = operation(task.op);
  const scratchBytes = op.scratchBytes(task.dtype, { rows: task.rows, cols: task.cols, inner: task.inner });
  const sizes = [count * size, scratchBytes, data ? task.a!.length * size : 0, data ? task.b!.length * size : 0];
  const [out, scratch, a, b] = sizes.map((bytes) => (bytes > 0 ? arena.alloc(bytes) : 0)) as [number, number, number, number];
  try {
    const buffer = () => arena.memory.buffer;
    if (data) {
      viewOf(task.dtype, buffer(), a, task.a!.length).set(task.a!);
      viewOf(task.dtype, buffer(), b, task.b!.length).set(task.b!);
    }
    const checksum = op.runBand(kernels[task.kernel], { ...task, a, b, out, scratch });
    const result: ProcessResult = { checksum };
    if (task.wantSample > 0) result.sample = Array.from(viewOf(task.dtype, buffer(), out, Math.min(task.wantSample, count)));
    if (task.wantOutput) result.out = viewOf(task.dtype, buffer(), out, count).slice();
    return result;
  } finally {
    for (const p of [out, scratch, a, b]) if (p !== 0) arena.free(p);
  }
}

process.on('message', (message: ToChild) => {
  if (message.type === 'exit') {
    // Not synchronously: an 'exit' that arrived before this listener existed (the pool closed while the
    // child started) is replayed by Node from a loop that touches the IPC channel after the last message,
    // and a disconnect inside that loop makes Node 20 throw "Cannot set properties of null (setting
    // 'Symbol(kPendingMessages)')".
    setImmediate(() => {
      if (process.connected) process.disconnect();
    });
    return;
  }
  try {
    send({ type: 'result', id: message.id, result: runTask(message.task) });
  } catch (error) {
    send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', simd });
