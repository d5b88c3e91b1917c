// The registry: every operation of the vocabulary, described once.

import type { Op } from '../vocabulary.js';
import { elementwise } from './elementwise.js';
import { matmul } from './matmul.js';
import type { Operation } from './operation.js';

export const OPERATIONS: Record<Op, Operation> = {
  add: elementwise('add'),
  sub: elementwise('sub'),
  mul: elementwise('mul'),
  matmul,
};

export function operation(op: Op): Operation {
  return OPERATIONS[op];
}

export type { Geometry, OpBand, Operation, Shape } from './operation.js';
