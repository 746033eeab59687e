import { createClient, type RedisClientType } from 'redis';

// The connections a server sees (`CLIENT LIST`), for tests about which connections the library
// opens and closes. Each server is asked through an admin connection of the test's own.

/** One line of `CLIENT LIST`, as fields (`id`, `name`, `flags`, `sub`, `ssub`, `cmd`, ...). */
export type Connection = Record<string, string>;

/** A connection of the test's own to one server, that can list the server's connections. */
export interface Admin {
  readonly url: string;
  /** This admin connection's own id. */
  readonly id: string;
  list(): Promise<Connection[]>;
  /** The connections whose ids are not in `known` (and not this admin's). */
  newSince(known: ReadonlySet<string>): Promise<Connection[]>;
  /** The ids of every connection now. */
  ids(): Promise<Set<string>>;
  close(): Promise<void>;
}

export function parseClientList(text: string): Connection[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) =>
      Object.fromEntries(
        line
          .trim()
          .split(' ')
          .map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]),
      ),
    );
}

/** Whether a connection is subscribed to a channel (`SUBSCRIBE`) or a shard channel (`SSUBSCRIBE`). */
export function isSubscriber(c: Connection): boolean {
  return Number(c.sub ?? 0) > 0 || Number(c.ssub ?? 0) > 0 || Number(c.psub ?? 0) > 0;
}

/** Whether a connection has client tracking on (`t`), in broadcast mode or not. */
export function isTracking(c: Connection): boolean {
  return (c.flags ?? '').includes('t');
}

/** One short description per connection (and its server, when known), for failure messages. */
export function describeConnections(connections: Connection[]): string {
  if (connections.length === 0) return '(none)';
  return connections
    .map(
      (c) =>
        `${c.server === undefined ? '' : `${c.server} `}id=${c.id} name=${c.name ?? ''} flags=${c.flags} ` +
        `sub=${c.sub} ssub=${c.ssub ?? '-'} cmd=${c.cmd}`,
    )
    .join('; ');
}

export async function connectAdmin(url: string): Promise<Admin> {
  const client: RedisClientType = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  const id = String(await client.sendCommand(['CLIENT', 'ID']));
  const list = async () => parseClientList(String(await client.sendCommand(['CLIENT', 'LIST'])));
  return {
    url,
    id,
    list,
    async newSince(known) {
      return (await list()).filter((c) => c.id !== id && !known.has(c.id as string));
    },
    async ids() {
      return new Set((await list()).map((c) => c.id as string));
    },
    close: () => client.close(),
  };
}
