// Which worker hosts are live: each announces itself as a NATS service
// (@nats-io/services, NATS's own discovery protocol, $SRV.PING), and the server
// pings them. No responder at all comes back at once as "no responders".

import { Svcm, type Service } from '@nats-io/services';
import type { NatsConnection } from './connection.js';
import { SERVICE_NAME } from './protocol.js';

export interface WorkerInfo {
  /** The --name of the worker. */
  name: string;
  /** Its service instance id (unique per process). */
  id: string;
  /** Kernel threads it computes bands on. */
  threads: number;
}

// @nats-io/services 3.0.0-25 (the newest published) is typed against a pre-release of nats-core; the
// connection's shape is the same, its private members differ
const svcm = (nc: NatsConnection): Svcm => new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]);

/** Announces a worker host; stop() the service to leave. */
export function announceWorker(nc: NatsConnection, worker: Omit<WorkerInfo, 'id'>, version: string): Promise<Service> {
  return svcm(nc).add({ name: SERVICE_NAME, version, description: 'wasmatrix worker host: computes bands of cluster jobs', metadata: { name: worker.name, threads: String(worker.threads) } });
}

/** The workers answering a ping within `maxWaitMs` (it always waits that long, unless nobody listens at all). */
export async function pingWorkers(nc: NatsConnection, maxWaitMs = 500): Promise<WorkerInfo[]> {
  const found: WorkerInfo[] = [];
  try {
    const answers = await svcm(nc).client({ strategy: 'timer', maxWait: maxWaitMs }).ping(SERVICE_NAME);
    for await (const a of answers) found.push({ name: a.metadata?.name ?? a.id, id: a.id, threads: Math.max(1, Number(a.metadata?.threads) || 1) });
  } catch (e) {
    // "no responders": nobody is subscribed to the ping subject, i.e. no worker at all
    if (!/no responders/i.test((e as Error).message ?? '')) throw e;
  }
  return found.sort((x, y) => x.name.localeCompare(y.name));
}

/**
 * The live list after a ping: the workers that answered, and those that missed this ping only (a
 * slow answer on a busy host is not a death; two misses in a row are). `missed` holds the ids that
 * missed the previous ping, and is updated.
 */
export function liveWorkers(previous: WorkerInfo[], answered: WorkerInfo[], missed: Set<string>): WorkerInfo[] {
  const ids = new Set(answered.map((w) => w.id));
  const kept: WorkerInfo[] = [];
  for (const w of previous) {
    if (ids.has(w.id)) continue;
    if (missed.has(w.id)) missed.delete(w.id);
    else {
      missed.add(w.id);
      kept.push(w);
    }
  }
  for (const id of ids) missed.delete(id);
  return [...answered, ...kept].sort((x, y) => x.name.localeCompare(y.name));
}
