import keySlot from 'cluster-key-slot';
import { type ClosingEmitter, listenForClose } from './close-listener';
import type { TrackingSource } from './driver';
import { PerMasterTracking } from './per-master-tracking';
import { startTracking } from './tracking';

// The local tier's tracking over a node-redis cluster (every master) and sentinel object (the master
// it uses now): one RESP3 duplicate of a node client per master, followed across failovers (the tier
// reads what it keeps through the tracking of the key's master).

/** A node-redis cluster's masters, the node client of each, and the master of each slot. */
export interface ClusterMasters {
  readonly masters: ReadonlyArray<{ readonly host?: string; readonly port?: number; readonly client?: unknown }>;
  readonly slots?: ReadonlyArray<{ readonly master?: { readonly host?: string; readonly port?: number } } | undefined>;
  nodeClient(node: never): unknown;
}

/** One tracking connection per cluster master: a RESP3 duplicate of the cluster's client for it. */
export function clusterTracking(cluster: ClusterMasters): TrackingSource {
  const addressOf = (master: ClusterMasters['masters'][number]) => `${master.host}:${master.port}`;
  return new PerMasterTracking({
    masters: () => cluster.masters.map(addressOf),
    track: (address, ready) => {
      const master = cluster.masters.find((m) => addressOf(m) === address);
      if (master === undefined) return undefined;
      if (typeof master.client !== 'object' || master.client === null) {
        // Not connected to that master yet: ask the cluster to, and look again once it has.
        Promise.resolve(cluster.nodeClient(master as never)).then(ready, () => {});
        return undefined;
      }
      return startTracking(master.client, 'client', () => {}, undefined, false);
    },
    onTopologyChange: (listener) => listenForClose(cluster as ClosingEmitter, 'connect', listener),
    masterOf: (key) => {
      const master = cluster.slots?.[keySlot(key)]?.master;
      return master === undefined ? undefined : addressOf(master);
    },
  });
}

/** A node-redis sentinel object: its master now, a client of its pool, and its topology events. */
export interface SentinelLike {
  getMasterNode(): { host: string; port: number } | undefined;
  _execute?(readonly: boolean, fn: (client: object) => Promise<unknown>): Promise<unknown>;
}

/**
 * Tracking of the master a sentinel object uses now, on a RESP3 duplicate of one of its master
 * clients (the only way node-redis lends one), made again whenever the sentinels name a new master.
 */
export function sentinelTracking(sentinel: SentinelLike): TrackingSource | undefined {
  if (typeof sentinel._execute !== 'function') return undefined;
  const prepared = new Map<string, TrackingSource | undefined>();
  const pending = new Set<string>();
  const addressOf = () => {
    const node = sentinel.getMasterNode();
    return node === undefined ? [] : [`${node.host}:${node.port}`];
  };
  return new PerMasterTracking({
    masters: addressOf,
    track: (address, ready) => {
      if (prepared.has(address)) {
        const tracking = prepared.get(address);
        prepared.delete(address);
        return tracking;
      }
      if (pending.has(address)) return undefined;
      pending.add(address);
      sentinel
        ._execute?.(false, async (client) => {
          // The master may have changed while waiting for a client: track the one it is now.
          if (addressOf()[0] === address)
            prepared.set(
              address,
              startTracking(client, 'client', () => {}, undefined, false),
            );
        })
        .finally(() => pending.delete(address))
        .then(ready, () => {});
      return undefined;
    },
    onTopologyChange: (listener) => listenForClose(sentinel as ClosingEmitter, 'topology-change', listener),
    masterOf: () => addressOf()[0],
    oneServer: true,
  });
}
