// Content negotiation (RFC 9110 section 12): which representation of `/` a
// client gets, whether it takes gzip, and whether its cached copy is current.
// Pure functions over header values: no uWS here.

interface Range {
  /** Lower case: "text/html", "text/*", "*\/*", "gzip", "*". */
  name: string;
  q: number;
}

/** The entries of an Accept-like header with their q-values (absent or malformed q: 1). */
function ranges(header: string): Range[] {
  const out: Range[] = [];
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';');
    const trimmed = name!.trim().toLowerCase();
    if (!trimmed) continue;
    let q = 1;
    for (const p of params) {
      const [key, value] = p.split('=');
      if (key?.trim().toLowerCase() !== 'q') continue;
      const v = Number(value?.trim());
      q = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 1;
    }
    out.push({ name: trimmed, q });
  }
  return out;
}

/**
 * The q-value an Accept header gives the media type `type` ("text/html"):
 * the most specific matching range decides (type/subtype over type/* over
 * *\/*), 0 when none matches. No header at all accepts everything (1).
 */
export function mediaQuality(accept: string, type: string): number {
  if (accept.trim() === '') return 1;
  const major = type.slice(0, type.indexOf('/'));
  let best = -1;
  let q = 0;
  for (const r of ranges(accept)) {
    const specificity = r.name === type ? 2 : r.name === `${major}/*` ? 1 : r.name === '*/*' ? 0 : -1;
    if (specificity > best) {
      best = specificity;
      q = r.q;
    }
  }
  return q;
}

/**
 * True when the client prefers HTML to the plain-text index: a browser
 * (text/html named, everything else at a lower q). A tie, `*\/*` (curl) or
 * no Accept header keeps the plain text.
 */
export function prefersHtml(accept: string): boolean {
  return mediaQuality(accept, 'text/html') > mediaQuality(accept, 'text/plain');
}

/** True when an Accept-Encoding header takes `coding` ("gzip") with q > 0, by name or by "*". */
export function acceptsEncoding(acceptEncoding: string, coding: string): boolean {
  let named: number | undefined;
  let star: number | undefined;
  for (const r of ranges(acceptEncoding)) {
    if (r.name === coding) named = r.q;
    else if (r.name === '*') star = r.q;
  }
  return (named ?? star ?? 0) > 0;
}

/**
 * True when If-None-Match names `etag` (or is "*"): the client's copy is
 * current and a 304 answers. The weak comparison of RFC 9110 13.1.2: W/ is ignored.
 */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  const bare = (tag: string): string => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}
