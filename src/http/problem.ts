// Renders a WasmatrixError (src/errors.ts) as an RFC 9457 problem+json body.
// Anything that is not a WasmatrixError becomes a generic 500 whose detail
// says nothing about the cause: the cause goes to the log, never to the client.

import { errors, isWasmatrixError, type WasmatrixError } from '../errors.js';

/** The error to show a client: itself if it is one of ours, else a bare 500. */
export function toClientError(e: unknown): WasmatrixError {
  return isWasmatrixError(e) ? e : errors.internal('the server failed to handle this request; the failure was logged');
}

export function problemBody(error: WasmatrixError, instance: string): string {
  const { param, element, allow, retryAfter } = error.fields;
  return JSON.stringify({
    type: error.type,
    title: error.title,
    status: error.status,
    detail: error.message,
    instance,
    code: error.code,
    ...(param !== undefined && { param }),
    ...(element !== undefined && { element }),
    ...(allow !== undefined && { allow }),
    ...(retryAfter !== undefined && { retryAfter }),
  });
}
