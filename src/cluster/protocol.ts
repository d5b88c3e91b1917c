// What the server and the worker hosts of the cluster mode say to each other
// over NATS, in one place: the names (stream, consumer, object store bucket,
// service, subjects), a band message, a band result, and their framing.
//
// A job is one JetStream message per band of output rows on the work-queue
// stream; a worker answers each band with one core NATS message on the job's
// result subject, then acks the band. Results are keyed by (job, band), so a
// band delivered twice (a worker died after answering but before its ack)
// answers twice and the second answer is ignored.

import type { Dtype, KernelKind, Op } from '../vocabulary.js';

/** The work-queue stream that holds the bands waiting for a worker. */
export const STREAM = 'WASMATRIX_BANDS';
export const BAND_SUBJECTS = 'wasmatrix.bands.>';
/** The one durable pull consumer every worker takes bands from (a work queue has one consumer per subject). */
export const CONSUMER = 'wasmatrix-workers';
/** JetStream object store bucket where a matmul job's caller B waits for the hosts (one object per job). */
export const OPERANDS_BUCKET = 'wasmatrix-operands';
/** The name workers announce themselves under (@nats-io/services). */
export const SERVICE_NAME = 'wasmatrix-worker';

export const bandSubject = (job: string, band: number): string => `wasmatrix.bands.${job}.${band}`;
/** Every band of one job (to purge a job's bands that nobody took). */
export const jobBandsFilter = (job: string): string => `wasmatrix.bands.${job}.*`;
export const resultSubject = (job: string): string => `wasmatrix.results.${job}`;

/** One band of one job: the whole job's geometry (the generator and the checksum need it) and the band's rows. */
export interface BandMessage {
  job: string;
  band: number;
  op: Op;
  dtype: Dtype;
  kernel: KernelKind;
  /** The whole job's output shape and matmul's k. */
  rows: number;
  cols: number;
  inner: number;
  /** The band's rows of the output. */
  firstRow: number;
  bandRows: number;
  output: 'full' | 'summary';
  /** Random jobs: A and B come from the generator with this seed, and nothing else travels. */
  seed?: number;
  /** Caller-data matmul with a large B: the object (in OPERANDS_BUCKET) holding all of B; the body holds the band's rows of A. Otherwise caller data is all in the body: the band's rows of A, then its rows of B (element-wise) or all of B (matmul). */
  operands?: string;
  /** Epoch milliseconds past which nobody waits for this band (the job's --timeout): a worker drops it. */
  expiresAt?: number;
  /** The consumer's ack_wait in milliseconds: a worker reports progress well within it while the band runs. */
  ackWaitMs: number;
}

export interface BandResult {
  job: string;
  band: number;
  /** The band's checksum part (unsigned 32-bit). */
  checksum: number;
  /** Seconds the band's kernel ran on the worker. */
  seconds: number;
  /** JetStream's delivery count: above 1, the band was redelivered (its first worker died or stalled). */
  deliveries: number;
  worker: string;
  /** Band 0 only: the first values of row 0. */
  sample?: number[];
  /** The band failed on the worker (a WasmatrixError's code and message). */
  error?: { code: string; message: string };
}

/**
 * A frame: a u32 (little endian) byte length of the JSON head, the head padded
 * with spaces to a multiple of 8 bytes, then the raw little-endian matrix
 * bytes, so that the matrix part is 8-byte aligned within the frame.
 */
export function encodeFrame(head: object, body?: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(head));
  const headBytes = Math.ceil((4 + json.length) / 8) * 8 - 4;
  const frame = new Uint8Array(4 + headBytes + (body?.byteLength ?? 0));
  new DataView(frame.buffer).setUint32(0, headBytes, true);
  frame.fill(0x20, 4, 4 + headBytes);
  frame.set(json, 4);
  if (body) frame.set(body, 4 + headBytes);
  return frame;
}

/** The head and the body of a frame; the body is 8-byte aligned (copied when the frame was not). */
export function decodeFrame<T>(frame: Uint8Array): { head: T; body: Uint8Array } {
  if (frame.byteLength < 4) throw new Error(`a cluster frame of ${frame.byteLength} bytes is too short`);
  const headBytes = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (4 + headBytes > frame.byteLength) throw new Error('a cluster frame is shorter than its head');
  const head = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset + 4, headBytes).toString('utf8')) as T;
  return { head, body: aligned(frame.subarray(4 + headBytes)) };
}

/** The bytes at an 8-byte aligned offset of their buffer (copied when they were not), so typed arrays of any dtype can view them. */
export function aligned(bytes: Uint8Array): Uint8Array {
  // a copy into a fresh buffer: Buffer's slice() would be a view at the same offset
  return bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
}

/** Bytes of a frame around a body: the largest head we send is well under this. */
export const FRAME_OVERHEAD_BYTES = 4096;
