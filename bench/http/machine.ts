// The machine a run was measured on, as the report states it.

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  hostname: string;
  cpu_model: string;
  cores: number;
  memory_gb: number;
  node: string;
  /** The kernels' SIMD build is in use (from the server's start line, else this Node's WebAssembly). */
  wasm_simd: boolean;
  /** 1, 5 and 15 minute load averages when the run started. */
  load_at_start: number[];
}

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where SIMD is on
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

export function wasmSimdSupported(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

function cpuModel(): string {
  const model = cpus()[0]?.model;
  if (model) return model.trim();
  try {
    return /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine(simdFromServer: boolean | null): MachineInfo {
  return {
    hostname: hostname(),
    cpu_model: cpuModel(),
    cores: availableParallelism(),
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    wasm_simd: simdFromServer ?? wasmSimdSupported(),
    load_at_start: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
