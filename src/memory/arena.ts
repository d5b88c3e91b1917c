// Regions of one WebAssembly.Memory, handed out to jobs and taken back when the
// job ends. Managed from TypeScript because the kernels never allocate (every
// WASM instance would have its own allocator over the same memory).
//
// Invariants:
// - a region is 64-byte aligned (a cache line; v128 loads need 16) and owned by
//   exactly one job from alloc() to free();
// - offset 0..63 is never handed out, so 0 is never a valid region;
// - the memory only grows, up to maxBytes (at most 4 GiB: wasm32 addresses),
//   and callers re-read `memory.buffer` after any alloc() (a grow replaces it).

import { errors } from '../errors.js';

export const PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB: 65536 pages. */
export const MAX_PAGES = 65536;
const ALIGN = 64;

export interface ArenaOptions {
  /** Shared memory (for worker_threads and the WASM kernels) or a plain one (the TS baseline on one thread). */
  shared: boolean;
  /** Initial size in bytes (rounded up to pages). Default 16 MiB. */
  initialBytes?: number;
  /** Upper bound in bytes (rounded down to pages, at most 4 GiB). Default 4 GiB. */
  maxBytes?: number;
}

interface FreeBlock {
  start: number;
  size: number;
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly maxBytes: number;
  /** Free blocks sorted by start, never adjacent (coalesced). */
  #free: FreeBlock[];
  #used = new Map<number, number>();
  #inUse = 0;

  constructor(options: ArenaOptions) {
    const maxPages = Math.min(MAX_PAGES, Math.floor((options.maxBytes ?? MAX_PAGES * PAGE_BYTES) / PAGE_BYTES));
    const initialPages = Math.min(maxPages, Math.max(1, Math.ceil((options.initialBytes ?? 16 << 20) / PAGE_BYTES)));
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: maxPages, shared: options.shared });
    this.maxBytes = maxPages * PAGE_BYTES;
    this.#free = [{ start: ALIGN, size: initialPages * PAGE_BYTES - ALIGN }];
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes currently owned by regions. */
  get bytesInUse(): number {
    return this.#inUse;
  }

  /** Reserves `bytes` and returns the region's byte offset. Grows the memory if needed. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let i = this.#free.findIndex((b) => b.size >= size);
    if (i < 0) i = this.#grow(size);
    const block = this.#free[i]!;
    const start = block.start;
    if (block.size === size) this.#free.splice(i, 1);
    else {
      block.start += size;
      block.size -= size;
    }
    this.#used.set(start, size);
    this.#inUse += size;
    return start;
  }

  free(start: number): void {
    const size = this.#used.get(start);
    if (size === undefined) throw new Error(`arena: free of unknown region ${start}`);
    this.#used.delete(start);
    this.#inUse -= size;
    // insert sorted, then coalesce with neighbours
    let i = this.#free.findIndex((b) => b.start > start);
    if (i < 0) i = this.#free.length;
    this.#free.splice(i, 0, { start, size });
    const next = this.#free[i + 1];
    if (next && start + size === next.start) {
      this.#free[i]!.size += next.size;
      this.#free.splice(i + 1, 1);
    }
    const prev = this.#free[i - 1];
    if (prev && prev.start + prev.size === start) {
      prev.size += this.#free[i]!.size;
      this.#free.splice(i, 1);
    }
  }

  /** Grows so that a block of `size` exists at the end; returns its index in #free. */
  #grow(size: number): number {
    const current = this.byteLength;
    const last = this.#free[this.#free.length - 1];
    const tailFree = last && last.start + last.size === current ? last.size : 0;
    const needed = size - tailFree;
    // grow by at least a quarter of the memory, so a stream of jobs does not grow page by page
    const wanted = Math.max(needed, Math.floor(current / 4));
    let pages = Math.ceil(wanted / PAGE_BYTES);
    const maxPages = this.maxBytes / PAGE_BYTES;
    const currentPages = current / PAGE_BYTES;
    if (currentPages + pages > maxPages) pages = Math.ceil(needed / PAGE_BYTES);
    if (currentPages + pages > maxPages) {
      throw errors.memoryExhausted(
        `a job needs ${size} bytes of matrix memory but ${this.#inUse} of the ${this.maxBytes} bytes allowed are in use`,
        { retryAfter: 1 },
      );
    }
    this.memory.grow(pages);
    const added = pages * PAGE_BYTES;
    if (tailFree > 0) {
      last!.size += added;
      return this.#free.length - 1;
    }
    this.#free.push({ start: current, size: added });
    return this.#free.length - 1;
  }
}
