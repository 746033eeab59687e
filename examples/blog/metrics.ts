import type express from 'express';
import { register } from 'prom-client';
import { collectMetrics } from '../../lib/prometheus';

/**
 * `GET /metrics`: the cache's Prometheus metrics (calls by function and outcome, their durations,
 * reported failures by code) in prom-client's default registry, for this worker. Every app of the
 * process shares them: `collectMetrics()` registers them once, however many apps call it.
 */
export function serveMetrics(app: express.Express): void {
  collectMetrics();
  app.get('/metrics', async (_req, res) => {
    res.type(register.contentType).send(await register.metrics());
  });
}
