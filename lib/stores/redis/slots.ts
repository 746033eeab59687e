import keySlot from 'cluster-key-slot';

/**
 * One circuit per cluster master: `circuitKeyFor(key)` is the object standing for the master that
 * serves `key`'s slot now (found by `masterOf`, by address), so that a master failing over opens
 * the circuit of its own slots only. While the slot map does not know the slot (a cluster still
 * discovering its topology), the whole cluster's object stands in.
 */
export function circuitPerMaster(
  masterOf: (slot: number) => string | undefined,
  wholeCluster: object,
): (key: string) => object {
  const byAddress = new Map<string, object>();
  return (key) => {
    const address = masterOf(keySlot(key));
    if (address === undefined) return wholeCluster;
    let circuit = byAddress.get(address);
    if (circuit === undefined) {
      circuit = { address };
      byAddress.set(address, circuit);
    }
    return circuit;
  };
}
