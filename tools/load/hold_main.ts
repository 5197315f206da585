/**
 * Holds N Pings against a target until killed: the load generator as its own
 * process, so every connection is gone when it exits and its open-file limit
 * is its own.
 *
 *   deno run -A tools/load/hold_main.ts --port P --ca FILE --count N [--heartbeat S] [--prefix P]
 */
import { parseArgs } from "node:util";
import { holdPings, LOAD_PASSWORD, pingBytes } from "./ping_load.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    ca: { type: "string" },
    count: { type: "string", default: "100" },
    heartbeat: { type: "string", default: "900" },
    prefix: { type: "string", default: "SIM" },
  },
});
if (!values.port || !values.ca) throw new Error("Options '--port' and '--ca' are required");
const count = Number(values.count);
const body = pingBytes(Number(values.heartbeat), ["1"]);
const pings = await holdPings({
  port: Number(values.port),
  caCert: await Deno.readTextFile(values.ca),
  devices: Array.from({ length: count }, (_, i) => ({
    user: `u${i}`,
    password: LOAD_PASSWORD,
    deviceId: `${values.prefix}${i}`,
  })),
  body: () => body,
});
console.log(JSON.stringify({ sent: pings.length }));
// Held until the benchmark kills this process.
await new Promise(() => {});
