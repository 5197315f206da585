/**
 * HTTP-level fuzz: random and mutated bodies, query strings and headers
 * POSTed to a running box (real TLS, real Dovecot). No answer may be a 500 or
 * carry a stack trace (501 for an unknown command and 503 with Retry-After are
 * the only 5xx the protocol allows), and the box keeps serving afterwards.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { COMMAND_CODES } from "../../src/eas/protocol/commands.ts";
import { PROTOCOL_VERSIONS } from "../../src/eas/protocol/versions.ts";
import { createLogger } from "../../src/log/logger.ts";
import { encode, fromXml } from "../../src/wbxml/mod.ts";
import { startBox } from "../integration/fixture.ts";
import { syncFolders } from "../integration/send_fixture.ts";
import { fuzzParams, NETWORK_RUNS } from "./_runs.ts";

const fixtures = new URL("../fixtures/wbxml/", import.meta.url);
/** Fixture file prefix -> the command whose request (or response) it holds. */
const COMMAND_OF: Record<string, string> = {
  foldercreate: "FolderCreate",
  foldersync: "FolderSync",
  getitemestimate: "GetItemEstimate",
  itemoperations: "ItemOperations",
  meetingresponse: "MeetingResponse",
  moveitems: "MoveItems",
  ping: "Ping",
  provision: "Provision",
  resolverecipients: "ResolveRecipients",
  search: "Search",
  sendmail: "SendMail",
  settings: "Settings",
  smartreply: "SmartReply",
  sync: "Sync",
  validatecert: "ValidateCert",
};
const SEEDS = [...Deno.readDirSync(fixtures)]
  .filter((e) => e.name.endsWith(".xml") && !e.name.includes("libwbxml-names"))
  .map((e) => ({
    command: COMMAND_OF[e.name.split(/[-.]/)[0]!]!,
    bytes: encode(fromXml(Deno.readTextFileSync(new URL(e.name, fixtures)))),
  }));

const mutation = fc.array(
  fc.record({
    kind: fc.constantFrom("set", "insert", "delete", "truncate"),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  { minLength: 1, maxLength: 3 },
);

function mutate(seed: Uint8Array, steps: { kind: string; at: number; bytes: Uint8Array }[]): Uint8Array {
  let out = Array.from(seed);
  for (const m of steps) {
    const at = m.at % (out.length + 1);
    if (m.kind === "set" && out.length) out[at % out.length] = m.bytes[0]!;
    else if (m.kind === "insert") out.splice(at, 0, ...m.bytes);
    else if (m.kind === "delete") out.splice(at, m.bytes.length);
    else if (m.kind === "truncate") out = out.slice(0, at);
  }
  return new Uint8Array(out);
}

/** A header value fetch() will send: printable ASCII and spaces. */
const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});

const STACK = /\n\s+at |\.ts:\d+:\d+|file:\/\//;

Deno.test("random and mutated requests to a running box never get a 500 or a stack trace, and the box keeps serving", async () => {
  const logLines: string[] = [];
  const box = await startBox({ log: createLogger("warn", (line) => logLines.push(line)) });
  const http = Deno.createHttpClient({ caCerts: [box.server.caCertPem!] });
  try {
    const user = box.mailstore.users[0]!;
    for (let i = 0; i < 3; i++) {
      await box.mailstore.deliver(
        user.name,
        `From: bob@example.test\r\nSubject: seed ${i}\r\n\r\nbody ${i}\r\n`,
      );
    }
    const client = box.client(user.name, { deviceId: "fuzzdevice" });
    const { ids } = await syncFolders(client);
    assert.ok(ids.size > 0);
    const authorization = "Basic " + btoa(`${user.name}:${user.password}`);
    const failures: string[] = [];
    let held = 0;
    const seen = new Map<string, number>();
    const commands = Object.keys(COMMAND_CODES);

    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.nat({ max: SEEDS.length - 1 }),
          steps: mutation,
          // Mostly one or two small edits, so the body still decodes and reaches the handler.
          body: fc.constantFrom("mutated", "mutated", "mutated", "random", "empty", "other-command"),
          random: fc.uint8Array({ maxLength: 200 }),
          command: fc.oneof(fc.constant(""), fc.constantFrom(...commands)),
          query: fc.oneof(
            { weight: 8, arbitrary: fc.constant("plain") },
            { weight: 1, arbitrary: fc.constantFrom("garbage", "base64-garbage") },
          ),
          garbage: fc.string({ maxLength: 120 }),
          version: fc.oneof(
            { weight: 8, arbitrary: fc.constantFrom("16.1", "14.1", "12.1") },
            { weight: 1, arbitrary: fc.constantFrom(...PROTOCOL_VERSIONS, "", "99.9", "12.1\r\nX: y") },
            { weight: 1, arbitrary: headerText },
          ),
          contentType: fc.oneof(
            { weight: 8, arbitrary: fc.constant("application/vnd.ms-sync.wbxml") },
            { weight: 1, arbitrary: fc.constantFrom("message/rfc822", "text/plain", "") },
            { weight: 1, arbitrary: headerText },
          ),
          // X-MS-PolicyKey (MS-ASHTTP 2.2.1.1.2.6): mostly absent, else out-of-range numbers or noise.
          policyKey: fc.oneof(
            { weight: 8, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.constantFrom("0", "4294967295", "4294967296", "-1", "1e3", "") },
            { weight: 1, arbitrary: headerText },
          ),
        }),
        async (c) => {
          const seed = SEEDS[c.seed]!;
          const command = c.body === "other-command" ? c.command || seed.command : seed.command;
          const body = c.body === "mutated"
            ? mutate(seed.bytes, c.steps)
            : c.body === "random"
            ? c.random
            : c.body === "empty"
            ? new Uint8Array(0)
            : seed.bytes;
          const params = new URLSearchParams({
            Cmd: command,
            User: user.name,
            DeviceId: "fuzzdevice",
            DeviceType: "iPhone",
          });
          const search = c.query === "plain"
            ? params.toString()
            : c.query === "garbage"
            ? c.garbage
            : btoa(String.fromCharCode(...c.random.slice(0, 60)));
          const headers: Record<string, string> = { Authorization: authorization };
          if (c.contentType) headers["Content-Type"] = c.contentType;
          if (c.version && !/[\r\n]/.test(c.version)) headers["MS-ASProtocolVersion"] = c.version;
          if (c.policyKey !== undefined) headers["X-MS-PolicyKey"] = c.policyKey;
          let response: Response;
          try {
            response = await fetch(`${box.server.easUrl}/Microsoft-Server-ActiveSync?${search}`, {
              method: "POST",
              headers,
              body: body as BodyInit,
              client: http,
              // A valid Ping or a Sync with Wait is held: that is an answer, not a hang.
              signal: AbortSignal.timeout(4000),
            } as RequestInit);
          } catch (error) {
            if (error instanceof DOMException && error.name === "TimeoutError" && /Ping|Sync/.test(command)) {
              held++;
              return;
            }
            throw error;
          }
          const text = await response.text();
          const key = `${response.status} ${
            response.headers.get("Content-Type")?.includes("wbxml") ? "wbxml" : ""
          }`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          // Before 14.0 compose commands have no Status element: Exchange 2007 answered a refused
          // message with a bare 500 and its reason (compose_common.ts), not with a crash.
          const legacyCompose = /^(SendMail|SmartReply|SmartForward)$/.test(command) &&
            !/^1[4-6]\./.test(c.version) && text !== "Internal server error";
          const allowed5xx = response.status === 501 || legacyCompose ||
            (response.status === 503 && response.headers.has("Retry-After"));
          if ((response.status >= 500 && !allowed5xx) || STACK.test(text)) {
            failures.push(
              `${command} (${c.body}, ${c.query}) -> HTTP ${response.status}: ${text.slice(0, 120)}`,
            );
          }
        },
      ),
      fuzzParams("network"),
    );
    const crashes = logLines.filter((l) => /"event":"(eas|http)\.crash"/.test(l)).map((l) => l.slice(0, 600));
    assert.deepEqual(failures, [], `server log:\n${crashes.join("\n")}`);
    // Still serving: a fresh device syncs its folders.
    const after = await syncFolders(box.client(user.name, { deviceId: "afterfuzz" }));
    assert.equal(after.ids.size, ids.size);
    console.log(
      `${NETWORK_RUNS} requests, ${held} held (Ping/Sync waits); answers:`,
      Object.fromEntries(seen),
    );
    // The fuzz reaches the handlers: a good share of answers are WBXML bodies of commands.
    assert.ok((seen.get("200 wbxml") ?? 0) > NETWORK_RUNS / 10, "commands were reached");
  } finally {
    http.close();
    await box.stop();
  }
});
