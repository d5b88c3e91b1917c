// An acceptor thread (-w N): its own uWS app on the shared port, jobs run by
// the main thread's engines (acceptors.ts explains the hand-off).

import { parentPort, workerData } from 'node:worker_threads';
import uWS from 'uWebSockets.js';
import { LocalEngine } from '../engines/local-engine.js';
import { WasmKernels, compileKernels } from '../kernels/wasm-kernels.js';
import { Arena } from '../memory/arena.js';
import { HttpMetrics } from '../metrics/metrics.js';
import { AccessLog } from './access-log.js';
import { InflightBudget } from './inflight-budget.js';
import { RemoteRunner, type AcceptorData, type ToAcceptor, type ToMain } from './acceptors.js';
import { inlineRunner } from './job-runner.js';
import { createLogger } from './logger.js';
import { HttpServer } from './server.js';

const data = workerData as AcceptorData;
const port = parentPort!;
const post = (m: ToMain): void => port.postMessage(m);
const log = createLogger(data.config.logLevel);

if (typeof uWS.getParts !== 'function') {
  post({ t: 'listen-failed', message: 'uWebSockets.js native build not loaded in the acceptor thread' });
} else {
  const metrics = new HttpMetrics();
  // small jobs run here, on this thread's own instance and memory (job-runner.ts, inlineRunner)
  const arena = new Arena({ shared: true, initialBytes: 4 << 20 });
  const local = new LocalEngine(new WasmKernels(compileKernels().module, arena.memory), arena);
  const remote = new RemoteRunner(port, data.maxWorkers);
  const runner = inlineRunner(local, remote, () => metrics.countInlineJob());
  const accessLog = data.config.accessLog ? new AccessLog(data.config.accessLog) : undefined;
  /** The main thread's latest extra /healthz fields (it sends them when they change). */
  let health: Record<string, unknown> | undefined;
  const server = new HttpServer({
    name: data.name,
    version: data.version,
    runner,
    maxN: data.config.maxN,
    maxBody: data.config.maxBody,
    timeout: data.config.timeout,
    budget: new InflightBudget(data.config.maxInflightBytes, data.budget),
    metrics,
    metricsText: () => remote.metricsText(),
    accessLog,
    log,
    health: () => health,
  });

  port.on('message', (m: ToAcceptor) => {
    if (remote.receive(m)) return;
    if (m.t === 'health') health = m.fields;
    else if (m.t === 'collect') {
      void metrics.json().then((json) => post({ t: 'metrics-json', id: m.id, json }));
    } else if (m.t === 'drain') {
      server.drain();
      void server.whenIdle(m.gracefulMs).then((idle) => {
        server.close();
        accessLog?.close();
        post({ t: 'drained', idle });
        port.close();
      });
    }
  });

  server.listen(data.config.host, data.port).then(
    () => post({ t: 'listening' }),
    (e: Error) => post({ t: 'listen-failed', message: e.message }),
  );
}
