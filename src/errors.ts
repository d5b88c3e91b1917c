// Every failure the service reports is made here: one factory per failure, a
// stable `code`, an HTTP `status` and a human `title`. The HTTP layer renders
// them as RFC 9457 problem+json (src/http/problem.ts); engines and pools throw
// them. Nothing else in the code base invents error strings for clients.

export interface ProblemFields {
  /** The query parameter, header or body field at fault, when there is one. */
  param?: string;
  /** The offending element, e.g. "a[3][7]", when there is one. */
  element?: string;
  /** Seconds, for 503 answers. */
  retryAfter?: number;
  /** Allowed methods, for 405 answers. */
  allow?: string[];
}

export class WasmatrixError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly fields: ProblemFields;

  constructor(code: string, status: number, title: string, detail: string, fields: ProblemFields = {}) {
    super(detail);
    this.name = 'WasmatrixError';
    this.code = code;
    this.status = status;
    this.title = title;
    this.fields = fields;
  }

  /** The problem type URI: stable, one per code. */
  get type(): string {
    return `https://wasmatrix.dev/problems/${this.code.toLowerCase().replaceAll('_', '-')}`;
  }
}

const make =
  (code: string, status: number, title: string) =>
  (detail: string, fields: ProblemFields = {}): WasmatrixError =>
    new WasmatrixError(code, status, title, detail, fields);

export const errors = {
  badParameter: make('BAD_PARAMETER', 400, 'Invalid parameter'),
  malformedBody: make('MALFORMED_BODY', 400, 'Malformed request body'),
  notFound: make('NOT_FOUND', 404, 'Not found'),
  methodNotAllowed: make('METHOD_NOT_ALLOWED', 405, 'Method not allowed'),
  bodyTooLarge: make('BODY_TOO_LARGE', 413, 'Request body too large'),
  shapeTooLarge: make('SHAPE_TOO_LARGE', 413, 'Matrix shape too large'),
  unsupportedMediaType: make('UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported media type'),
  invalidMatrix: make('INVALID_MATRIX', 422, 'Invalid matrix'),
  internal: make('INTERNAL', 500, 'Internal server error'),
  queueFull: make('QUEUE_FULL', 503, 'Server busy'),
  workerFailed: make('WORKER_FAILED', 503, 'Worker failed'),
  memoryExhausted: make('MEMORY_EXHAUSTED', 503, 'Out of matrix memory'),
  shuttingDown: make('SHUTTING_DOWN', 503, 'Shutting down'),
  poolClosed: make('POOL_CLOSED', 503, 'Pool closed'),
  clusterUnavailable: make('CLUSTER_UNAVAILABLE', 503, 'Cluster unavailable'),
  cancelled: make('CANCELLED', 499, 'Request cancelled'),
  timeout: make('TIMEOUT', 504, 'Job timed out'),
};

export function isWasmatrixError(e: unknown): e is WasmatrixError {
  return e instanceof WasmatrixError;
}
