/**
 * Random free TCP port on the loopback interface.
 *
 * The kernel picks an unused ephemeral port for a listener on port 0; the listener is closed again
 * at once so a server under test can bind it. Another process may grab it in between, which is
 * rare enough for tests; servers that fail to bind report it through their startup check.
 *
 * @module
 */

/** Returns a port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}

/** Returns `count` distinct free loopback ports. */
export function freePorts(count: number): number[] {
  const listeners = Array.from({ length: count }, () => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  try {
    return listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  } finally {
    for (const listener of listeners) listener.close();
  }
}
