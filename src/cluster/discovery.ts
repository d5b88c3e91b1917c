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

/** The live workers: those answering a ping within `maxWaitMs` (waits `stallMs` after the last answer). */
export async function pingWorkers(nc: NatsConnection, maxWaitMs = 1000, stallMs = 150): Promise<WorkerInfo[]> {
  const found: WorkerInfo[] = [];
  try {
    const answers = await svcm(nc).client({ strategy: 'stall', maxWait: maxWaitMs, stall: stallMs }).ping(SERVICE_NAME);
    for await (const a of answers) found.push({ name: a.metadata?.name ?? a.id, id: a.id, threads: Math.max(1, Number(a.metadata?.threads) || 1) });
  } catch (e) {
    // "no responders": nobody is subscribed to the ping subject, i.e. no worker at all
    if (!/no responders/i.test((e as Error).message ?? '')) throw e;
  }
  return found.sort((x, y) => x.name.localeCompare(y.name));
}
