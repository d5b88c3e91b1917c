// A counter and a histogram that cost a Map lookup and a few additions per
// observation, read by prom-client only at scrape time. prom-client's own
// labelled metrics hash their label object on every inc()/observe() (even
// through a cached labels() child), which cost about 4.5% of the main
// thread's time per request. These register in a prom-client Registry like
// its own metrics and export the same JSON (so AggregatorRegistry sums them
// across threads and formats them).

import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

type Labels = Record<string, string | number>;
type Json = MetricObjectWithValues<MetricValue<string>>;
/** One exported value; metricName for a histogram's _bucket, _sum and _count lines. */
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** The JSON prom-client's own metrics export (its typings say `type` is an enum; at run time it is the type's name). */
function exported(m: { name: string; help: string; type: string; aggregator: string }, values: Value[]): Json {
  return { name: m.name, help: m.help, type: m.type, aggregator: m.aggregator, values } as unknown as Json;
}

interface Described {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: Registry[];
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {};
  names.forEach((n, i) => (labels[n] = values[i]!));
  return labels;
}

abstract class PlainMetric<Child> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  readonly #labelNames: readonly string[];
  /** By the label values joined with NUL. */
  protected readonly children = new Map<string, { labels: Labels; child: Child }>();

  constructor(options: Described) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    // prom-client's Registry takes any object with a name and get()
    for (const r of options.registers) r.registerMetric(this as never);
  }

  /** The child of one label set (values in labelNames order), created on first use. */
  protected childOf(values: readonly string[]): Child {
    const key = values.join('\0');
    let entry = this.children.get(key);
    if (!entry) this.children.set(key, (entry = { labels: labelsOf(this.#labelNames, values), child: this.newChild() }));
    return entry.child;
  }

  protected abstract newChild(): Child;
  abstract get(): Promise<Json>;
}

export class PlainCounter extends PlainMetric<{ value: number }> {
  readonly type = 'counter' as const;

  constructor(options: Described) {
    super(options);
    if (options.labelNames.length === 0) this.childOf([]); // a counter without labels shows 0 from the start
  }

  inc(...values: string[]): void {
    this.childOf(values).value++;
  }

  protected newChild(): { value: number } {
    return { value: 0 };
  }

  async get(): Promise<Json> {
    return exported(this, [...this.children.values()].map(({ labels, child }) => ({ labels, value: child.value })));
  }
}

interface Buckets {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last one: above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class PlainHistogram extends PlainMetric<Buckets> {
  readonly type = 'histogram' as const;
  readonly #bounds: readonly number[];

  constructor(options: Described & { buckets: readonly number[] }) {
    super(options);
    this.#bounds = options.buckets;
  }

  /** Records `value` under the label values given (in labelNames order). */
  observe(value: number, ...values: string[]): void {
    const b = this.childOf(values);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    b.counts[i]!++;
    b.sum += value;
    b.count++;
  }

  protected newChild(): Buckets {
    return { counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
  }

  async get(): Promise<Json> {
    const values: Value[] = [];
    for (const { labels, child } of this.children.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += child.counts[i]!;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: child.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: child.count, metricName: `${this.name}_count` });
    }
    return exported(this, values);
  }
}
