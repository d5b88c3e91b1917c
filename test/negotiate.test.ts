// Content negotiation of / (a browser gets the page, every other client the
// plain-text index), gzip and ETag revalidation, as pure functions.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acceptsEncoding, etagMatches, mediaQuality, prefersHtml } from '../src/http/negotiate.ts';

const CHROME = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const FIREFOX = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

test('browsers get the page', () => {
  for (const accept of [CHROME, FIREFOX, 'text/html', 'text/html;q=0.5', 'text/plain;q=0.5, text/html']) assert.ok(prefersHtml(accept), accept);
});

test('curl, fetch and other clients keep the plain-text index', () => {
  for (const accept of ['', '*/*', 'text/plain', 'text/*', 'application/json', 'text/html, text/plain', 'text/html;q=0.5, */*', 'text/html;q=0, */*', 'text/plain, text/html;q=0.9']) {
    assert.not.ok(prefersHtml(accept), accept);
  }
});

test('the most specific range decides a q-value, and a missing header accepts anything', () => {
  assert.is(mediaQuality('text/*;q=0.3, text/html;q=0.7, */*;q=0.1', 'text/html'), 0.7);
  assert.is(mediaQuality('text/*;q=0.3, */*;q=0.1', 'text/plain'), 0.3);
  assert.is(mediaQuality('*/*;q=0.1', 'text/plain'), 0.1);
  assert.is(mediaQuality('application/json', 'text/plain'), 0);
  assert.is(mediaQuality('', 'text/plain'), 1);
  assert.is(mediaQuality('TEXT/HTML ; Q=0.4', 'text/html'), 0.4, 'case and spaces');
  assert.is(mediaQuality('text/html;q=abc', 'text/html'), 1, 'a malformed q counts as 1');
  assert.is(mediaQuality('text/html;q=7', 'text/html'), 1, 'clamped to 1');
});

test('gzip is taken by name or by *, never at q=0', () => {
  assert.ok(acceptsEncoding('gzip, deflate, br', 'gzip'));
  assert.ok(acceptsEncoding('br;q=1.0, gzip;q=0.8', 'gzip'));
  assert.ok(acceptsEncoding('*', 'gzip'));
  assert.not.ok(acceptsEncoding('', 'gzip'));
  assert.not.ok(acceptsEncoding('identity', 'gzip'));
  assert.not.ok(acceptsEncoding('gzip;q=0', 'gzip'));
  assert.not.ok(acceptsEncoding('*, gzip;q=0', 'gzip'), 'the named coding wins over *');
});

test('If-None-Match matches a listed tag, a weak form of it, or *', () => {
  assert.ok(etagMatches('"abc"', '"abc"'));
  assert.ok(etagMatches('"x", "abc"', '"abc"'));
  assert.ok(etagMatches('W/"abc"', '"abc"'));
  assert.ok(etagMatches('*', '"abc"'));
  assert.not.ok(etagMatches('"abc-gz"', '"abc"'), 'the gzip representation has its own tag');
  assert.not.ok(etagMatches('"ab"', '"abc"'));
});

test.run();
