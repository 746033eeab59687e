import { connect as connectSocket } from 'node:net';

// The commands clients send to a server, as MONITOR shows them: one line per command, in the order the
// server ran them. Commands a script runs are marked `lua` and left out here, so what remains is what
// crossed the network: one line per round trip of a client that does not pipeline.

/** A command a client sent: its name (lower case) and its arguments. */
export interface SentCommand {
  readonly name: string;
  readonly args: readonly string[];
}

/** MONITOR on its own connection; `sent` grows as the server runs commands. */
export interface Monitor {
  readonly sent: SentCommand[];
  stop(): void;
}

const LINE = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/;

/** Starts MONITOR on the server at `url`; resolves once the server confirmed it. */
export function monitor(url: string): Promise<Monitor> {
  const { hostname, port } = new URL(url);
  const socket = connectSocket({ host: hostname, port: Number(port) });
  const sent: SentCommand[] = [];
  let buffered = '';
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let end = buffered.indexOf('\r\n');
      while (end >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\r\n');
        if (line === '+OK') {
          resolve({ sent, stop: () => socket.destroy() });
          continue;
        }
        const match = LINE.exec(line);
        if (match === null || match[1] === 'lua') continue;
        const words = [...(match[2] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] as string);
        sent.push({ name: (words[0] ?? '').toLowerCase(), args: words.slice(1) });
      }
    });
    socket.write('MONITOR\r\n');
  });
}
