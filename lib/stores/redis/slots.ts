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

/**
 * The values of `keys` in their order, read with one multi-key command per hash slot (a cluster
 * refuses one across slots), every command sent at once without waiting for another, so the read
 * costs one round trip per master (node-redis also writes those bound for one master together).
 */
export async function readBySlot(
  keys: readonly string[],
  readSlot: (keys: string[]) => Promise<Array<string | null>>,
): Promise<Array<string | null>> {
  const bySlot = new Map<number, number[]>();
  keys.forEach((key, position) => {
    const slot = keySlot(key);
    const positions = bySlot.get(slot);
    if (positions === undefined) bySlot.set(slot, [position]);
    else positions.push(position);
  });
  const values = new Array<string | null>(keys.length).fill(null);
  await Promise.all(
    [...bySlot.values()].map(async (positions) => {
      const replies = await readSlot(positions.map((position) => keys[position] as string));
      positions.forEach((position, i) => {
        values[position] = replies[i] ?? null;
      });
    }),
  );
  return values;
}
