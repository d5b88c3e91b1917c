// The NATS connection of a server or a worker host, and the JetStream
// resources the cluster mode runs on (the work-queue stream, its consumer,
// the operand bucket), created by whichever side comes first.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, StorageType, jetstreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { BAND_SUBJECTS, CONSUMER, OPERANDS_BUCKET, STREAM } from './protocol.js';

export type { NatsConnection };

const NANOS_PER_MS = 1_000_000;
/** Bands and operands nobody took within this time are dropped by the server itself (a backstop: jobs purge their own). */
const MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Connects, and keeps reconnecting for ever when NATS goes away (the first
 * connection too: a server or worker may start before NATS does). Resolves once
 * connected. Pings every 2 s so a silently dead link is noticed within seconds.
 */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url, name, waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 2000, maxPingOut: 2 });
}

/**
 * Makes sure the stream and its consumer exist. The bands are kept in memory
 * (they live for one job; a NATS restart loses them, and the server fails the
 * jobs in flight then). `ackWaitMs`: the consumer's ack_wait, set when it is
 * created, and changed to it when `own` (the server owns the setting; workers
 * only create the consumer with it when they come first).
 */
export async function ensureWorkQueue(nc: NatsConnection, ackWaitMs: number, own: boolean): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.info(STREAM).catch(() =>
    jsm.streams
      .add({ name: STREAM, subjects: [BAND_SUBJECTS], retention: RetentionPolicy.Workqueue, storage: StorageType.Memory, max_age: MAX_AGE_MS * NANOS_PER_MS })
      // another host created it in between
      .catch(() => jsm.streams.info(STREAM)),
  );
  const ackWait = ackWaitMs * NANOS_PER_MS;
  const info = await jsm.consumers.info(STREAM, CONSUMER).catch(() => undefined);
  if (info === undefined) {
    await jsm.consumers
      .add(STREAM, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: ackWait, max_ack_pending: 10_000 })
      .catch(() => jsm.consumers.info(STREAM, CONSUMER));
  } else if (own && info.config.ack_wait !== ackWait) {
    await jsm.consumers.update(STREAM, CONSUMER, { ack_wait: ackWait });
  }
}

/** The bucket of matmul operands (created when missing). */
export function operandStore(nc: NatsConnection): Promise<ObjectStore> {
  return new Objm(nc).create(OPERANDS_BUCKET, { storage: StorageType.Memory, ttl: MAX_AGE_MS * NANOS_PER_MS });
}

/** Drops the bands of a job that no worker took (its client is gone or it timed out). */
export async function purgeBands(nc: NatsConnection, filter: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.purge(STREAM, { filter })).purged;
}
