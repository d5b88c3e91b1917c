// The words every layer shares, each list written once: the operations, the
// element types, the kernel implementations and the execution modes. Every
// other list (the thread protocol's codes, the kernel bindings, the auto
// thresholds, metric labels, request parsing) is derived from these. This
// module imports nothing, so any layer may import it.

/** Element-wise operations: out[i] = a[i] op b[i] over two operands of one shape. */
export const ELEMENTWISE_OPS = ['add', 'sub', 'mul'] as const;
export type ElementwiseOp = (typeof ELEMENTWISE_OPS)[number];

/** Every operation a job can run (src/ops/ describes each). */
export const OPS = [...ELEMENTWISE_OPS, 'matmul'] as const;
export type Op = (typeof OPS)[number];

export const DTYPES = ['int32', 'float32', 'float64'] as const;
export type Dtype = (typeof DTYPES)[number];

/** Which implementation of the kernels runs: AssemblyScript/WASM or the pure-TS baseline. */
export const KERNELS = ['wasm', 'ts'] as const;
export type KernelKind = (typeof KERNELS)[number];

export const MODES = ['ts', 'wasm', 'threads', 'processes', 'cluster', 'auto'] as const;
export type Mode = (typeof MODES)[number];
/** A mode that runs a job itself (auto only picks one of these). */
export type ConcreteMode = Exclude<Mode, 'auto'>;

/** Random A and B drawn from the generator (the lab's job), or caller data. */
export const JOB_KINDS = ['random', 'data'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** True when `s` is one of `list` (narrows s). */
export function isOneOf<T extends string>(list: readonly T[], s: string): s is T {
  return (list as readonly string[]).includes(s);
}

export const isOp = (s: string): s is Op => isOneOf(OPS, s);
export const isElementwiseOp = (s: string): s is ElementwiseOp => isOneOf(ELEMENTWISE_OPS, s);
export const isDtype = (s: string): s is Dtype => isOneOf(DTYPES, s);
export const isMode = (s: string): s is Mode => isOneOf(MODES, s);
