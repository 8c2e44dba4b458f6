// A TCP relay in front of a server, whose connections a test can cut: the
// way to drop a WebSocket as a network failure would (no close frame), which
// a page cannot do to its own socket; and whose network a test can take
// down for a while (new connections fail) and bring back.

import { connect, createServer } from 'node:net';

/** Relays 127.0.0.1:<returned port> to `targetPort`. */
export async function startProxy(targetPort) {
  const sockets = new Set();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      // The network is out: the connection fails at once, as to a dead host.
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    /** Cuts every relayed connection at once, with a reset. */
    cutAll() {
      for (const s of sockets) s.resetAndDestroy();
    },
    /** While down, new connections are reset at once (existing ones are left alone). */
    setDown(value) {
      down = value;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
