/**
 * Load generator for Direct Push: many simulated devices (each with its own
 * user and DeviceId) holding Pings over raw HTTP/1.1 keep-alive TLS
 * connections, the way phones do, without a client-side connection pool
 * getting in the way. Used by tools/bench/push_bench.ts.
 */
import { decode, el, encode, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";

/** Password of every simulated user of tools/load/ping_target.ts. */
export const LOAD_PASSWORD = "load-test-password";

/** One simulated device. */
export interface SimDevice {
  user: string;
  password: string;
  deviceId: string;
}

/** A device's open connection with its request in flight or answered. */
export interface HeldPing {
  device: SimDevice;
  conn: Deno.TlsConn;
  /** Resolves with the decoded response of the request in flight. */
  response: Promise<PingAnswer>;
  sentAt: number;
}

/** A decoded answer. */
export interface PingAnswer {
  httpStatus: number;
  pingStatus: number | undefined;
  at: number;
  /** The server ends the connection after this answer (Connection: close). */
  closes: boolean;
}

/** WBXML of a Ping with these folder ids and heartbeat. */
export function pingBytes(heartbeatSeconds: number, folderIds: readonly string[]): Uint8Array {
  const folders = folderIds.map((id) =>
    el("Ping", "Folder", textEl("Ping", "Id", id), textEl("Ping", "Class", "Email"))
  );
  return encode(
    el(
      "Ping",
      "Ping",
      textEl("Ping", "HeartbeatInterval", heartbeatSeconds),
      el("Ping", "Folders", ...folders),
    ),
  );
}

function requestBytes(device: SimDevice, port: number, body: Uint8Array): Uint8Array {
  const query = `Cmd=Ping&User=${
    encodeURIComponent(device.user)
  }&DeviceId=${device.deviceId}&DeviceType=LoadSim`;
  const head = `POST /Microsoft-Server-ActiveSync?${query} HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${port}\r\n` +
    `Authorization: Basic ${btoa(`${device.user}:${device.password}`)}\r\n` +
    `MS-ASProtocolVersion: 14.1\r\n` +
    `User-Agent: Pushbridge-LoadSim/1.0\r\n` +
    `Content-Type: application/vnd.ms-sync.wbxml\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  const headBytes = new TextEncoder().encode(head);
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes);
  out.set(body, headBytes.length);
  return out;
}

/** Reads one HTTP/1.1 response (Content-Length or chunked) from the connection. */
async function readResponse(conn: Deno.TlsConn): Promise<PingAnswer> {
  let buffer = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  const more = async () => {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("Connection closed before the response ended");
    const next = new Uint8Array(buffer.length + n);
    next.set(buffer);
    next.set(chunk.subarray(0, n), buffer.length);
    buffer = next;
  };
  let headEnd = -1;
  while ((headEnd = findCrlfCrlf(buffer)) < 0) await more();
  const head = new TextDecoder().decode(buffer.subarray(0, headEnd));
  const httpStatus = Number(head.split(" ")[1]);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  let body: Uint8Array;
  if (length) {
    const total = headEnd + 4 + Number(length[1]);
    while (buffer.length < total) await more();
    body = buffer.subarray(headEnd + 4, total);
  } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    while (!new TextDecoder().decode(buffer.subarray(headEnd)).includes("\r\n0\r\n\r\n")) await more();
    body = dechunk(buffer.subarray(headEnd + 4));
  } else {
    body = new Uint8Array(0);
  }
  let pingStatus: number | undefined;
  if (body.length > 0) {
    const tree: WbxmlElement = decode(body);
    const status = tree.children?.find((c) => c.name === "Status")?.text;
    pingStatus = status === undefined ? undefined : Number(status);
  }
  return { httpStatus, pingStatus, at: performance.now(), closes: /\r\nconnection:\s*close/i.test(head) };
}

function findCrlfCrlf(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const text = new TextDecoder("latin1");
  while (offset < bytes.length) {
    const lineEnd = text.decode(bytes.subarray(offset)).indexOf("\r\n");
    const size = parseInt(text.decode(bytes.subarray(offset, offset + lineEnd)), 16);
    if (!size) break;
    parts.push(bytes.subarray(offset + lineEnd + 2, offset + lineEnd + 2 + size));
    offset += lineEnd + 2 + size + 2;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Options of {@link holdPings}. */
export interface HoldOptions {
  port: number;
  caCert: string;
  devices: readonly SimDevice[];
  body: (device: SimDevice) => Uint8Array;
  /** TLS handshakes in flight at once (the box and the generator share 2 cores). */
  concurrency?: number;
}

/** Opens one TLS connection per device and sends its Ping; returns the held requests. */
export async function holdPings(options: HoldOptions): Promise<HeldPing[]> {
  const held: HeldPing[] = new Array(options.devices.length);
  let next = 0;
  const worker = async () => {
    while (next < options.devices.length) {
      const i = next++;
      const device = options.devices[i]!;
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: options.port,
        caCerts: [options.caCert],
      });
      held[i] = send({ device, conn, response: Promise.resolve({} as PingAnswer), sentAt: 0 }, options);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 64 }, worker));
  return held;
}

/** Sends the device's next Ping on its open connection (keep-alive). */
export function repeatPing(ping: HeldPing, options: Pick<HoldOptions, "port" | "body">): HeldPing {
  return send(ping, options);
}

function send(ping: HeldPing, options: Pick<HoldOptions, "port" | "body">): HeldPing {
  const bytes = requestBytes(ping.device, options.port, options.body(ping.device));
  ping.sentAt = performance.now();
  ping.response = ping.conn.write(bytes).then(() => readResponse(ping.conn));
  // Unobserved failures (closing at the end) must not crash the generator.
  ping.response.catch(() => {});
  return ping;
}

/**
 * Opens a new connection for the device and sends its Ping there, as a phone
 * does when the server closed the old one or it broke.
 */
export async function reconnectPing(
  ping: HeldPing,
  options: Pick<HoldOptions, "port" | "body" | "caCert">,
): Promise<HeldPing> {
  try {
    ping.conn.close();
  } catch { /* already closed */ }
  ping.conn = await Deno.connectTls({ hostname: "127.0.0.1", port: options.port, caCerts: [options.caCert] });
  return send(ping, options);
}

/** Closes every connection (the server sees the clients go away). */
export function closeAll(pings: readonly HeldPing[]): void {
  for (const p of pings) {
    try {
      p.conn.close();
    } catch { /* already closed */ }
  }
}
