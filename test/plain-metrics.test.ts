// The plain counter and histogram export exactly what prom-client's own would
// for the same observations (text and aggregation across threads), at the cost
// of a Map lookup per observation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { PlainCounter, PlainHistogram } from '../src/metrics/plain-metrics.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVED: [number, string, string][] = [[0.0005, 'a', 'x'], [0.001, 'a', 'x'], [0.05, 'a', 'y'], [3, 'b', 'x'], [0.2, 'a', 'x']];

function both(): { plain: Registry; prom: Registry } {
  const plain = new Registry();
  const prom = new Registry();
  const help = 'h';
  const pc = new PlainCounter({ name: 'c_total', help, labelNames: ['route', 'mode'], registers: [plain] });
  const ph = new PlainHistogram({ name: 'd_seconds', help, labelNames: ['route', 'mode'], buckets: BUCKETS, registers: [plain] });
  const c = new Counter({ name: 'c_total', help, labelNames: ['route', 'mode'], registers: [prom] });
  const h = new Histogram({ name: 'd_seconds', help, labelNames: ['route', 'mode'], buckets: BUCKETS, registers: [prom] });
  for (const [v, route, mode] of OBSERVED) {
    pc.inc(route, mode);
    ph.observe(v, route, mode);
    c.labels(route, mode).inc();
    h.labels(route, mode).observe(v);
  }
  return { plain, prom };
}

test('the Prometheus text is the same as prom-client Counter and Histogram give', async () => {
  const { plain, prom } = both();
  assert.is(await plain.metrics(), await prom.metrics());
});

test('summed across threads (AggregatorRegistry) they match too', async () => {
  const a = both();
  const b = both();
  const plain = await AggregatorRegistry.aggregate([await a.plain.getMetricsAsJSON(), await b.plain.getMetricsAsJSON()]).metrics();
  const prom = await AggregatorRegistry.aggregate([await a.prom.getMetricsAsJSON(), await b.prom.getMetricsAsJSON()]).metrics();
  assert.is(plain, prom);
  assert.match(plain, /d_seconds_count\{route="a",mode="x"\} 6/);
});

test('a counter without labels shows 0 before its first increment', async () => {
  const r = new Registry();
  new PlainCounter({ name: 'n_total', help: 'h', labelNames: [], registers: [r] });
  assert.match(await r.metrics(), /^n_total 0$/m);
});

test.run();
