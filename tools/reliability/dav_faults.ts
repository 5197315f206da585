/**
 * Scenario "DAV faults": the TCP fault proxy sits in front of Radicale; the box (its own
 * process) reaches CalDAV/CardDAV only through it. Per cycle the DAV server is down (connections
 * refused), slow (every chunk of its answers held back), refusing logins (HTTP 401 to every
 * request, while IMAP still accepts the password) or cut mid-response. Meanwhile the desktop adds
 * an event and a contact directly in Radicale and the phone adds an appointment (with a ClientId)
 * in its calendar Sync. While the fault is on, phones must get retryable answers only (503 with
 * Retry-After, Sync Status 16, or a success when the server is merely slow), and a FolderSync
 * must never announce the DAV folders as deleted; a second device of the user holds a Ping on
 * both folders through the fault, which must wake (Status 2) at the box's next good DAV poll after
 * it. When the fault ends, the phone repeats the
 * refused Sync unchanged: the same SyncKeys carry on (no resync), the phone's appointment exists
 * once in Radicale, and the phone's calendar and contacts equal Radicale's.
 *
 * @module
 */
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { encodeTimezoneBlob, windowsFromIana } from "../../src/bridge/dav/timezone.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasReply } from "../eas_client/client.ts";
import { startTcpFaultProxy, type TcpFault } from "../fault_proxy.ts";
import { type HarnessUser, startMailstore } from "../../tests/harness/mod.ts";
import { seedDemoDav } from "../../tests/harness/seed_dav.ts";
import { pingBytes } from "../load/ping_load.ts";
import { BoxProcess } from "./box_process.ts";
import { Phone, retryable } from "./phone.ts";
import type { ScenarioResult } from "./result.ts";

const FH = "FolderHierarchy";
const AS = "AirSync";
const CAL = "Calendar";

/** Options of one run. */
export interface DavFaultOptions {
  cycles: number;
  /** The faults to cycle through (all four by default). */
  kinds?: DavFaultKind[];
}

/** The box's DAV poll interval here (the shortest it accepts): a held Ping wakes within it after a change. */
const DAV_POLL_SECONDS = 5;

/** How Radicale misbehaves in a cycle. */
export type DavFaultKind = "down" | "slow" | "login-refused" | "cut";
const KINDS: DavFaultKind[] = ["down", "slow", "login-refused", "cut"];

const UNAUTHORIZED = new TextEncoder().encode(
  'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="Radicale"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
);

function faultOf(kind: DavFaultKind, cycle: number): TcpFault {
  switch (kind) {
    case "down":
      return { kind: "refuse" };
    case "slow":
      return { kind: "slow", delayMs: 700 };
    case "login-refused":
      return { kind: "reply", bytes: UNAUTHORIZED };
    case "cut":
      // Somewhere in the status line, the headers or the multistatus body.
      return { kind: "cut", afterBytes: 40 + (cycle * 137) % 500 };
  }
}

/** An appointment as the phone sends it (MS-ASCAL 2.2.2). */
function appointment(subject: string, day: number): WbxmlElement {
  const date = `203004${String(1 + day % 28).padStart(2, "0")}`;
  return el(
    AS,
    "ApplicationData",
    textEl(CAL, "Timezone", encodeTimezoneBlob(windowsFromIana("Europe/Berlin", 2030))),
    textEl(CAL, "AllDayEvent", 0),
    textEl(CAL, "BusyStatus", 2),
    textEl(CAL, "DtStamp", "20300101T000000Z"),
    textEl(CAL, "EndTime", `${date}T100000Z`),
    textEl(CAL, "Sensitivity", 0),
    textEl(CAL, "Subject", subject),
    textEl(CAL, "StartTime", `${date}T090000Z`),
    textEl(CAL, "MeetingStatus", 0),
  );
}

/** Labels of a collection's resources in Radicale (SUMMARY or FN), read without the proxy. */
async function davTruth(dav: DavClient, href: string, property: "SUMMARY" | "FN"): Promise<string[]> {
  const labels: string[] = [];
  for (const r of await dav.propfind(href, [["DAV:", "getetag"]], 1)) {
    if (r.href.endsWith("/")) continue;
    const data = (await dav.get(r.href))?.data ?? "";
    const label = new RegExp(`^${property}:(.*)$`, "m").exec(data)?.[1]?.trim();
    if (label !== undefined) labels.push(label);
  }
  return labels;
}

/** Missing and doubled labels between a phone's model and the truth. */
function compareLabels(phone: Phone, truth: string[]): { lost: number; duplicated: number } {
  const held = [...phone.model.values()].map((item) => item.subject);
  let lost = 0;
  let duplicated = phone.duplicatedAdds + held.length - new Set(held).size + truth.length -
    new Set(truth).size;
  for (const label of new Set(truth)) if (!held.includes(label)) lost++;
  for (const label of new Set(held)) if (!truth.includes(label)) duplicated++; // a ghost
  return { lost, duplicated };
}

/** Runs the scenario with its own mailstore (with Radicale), proxy and box process; returns its table row. */
export async function runDavFaults(options: DavFaultOptions): Promise<ScenarioResult> {
  const kinds = options.kinds ?? KINDS;
  const mailstore = await startMailstore({ dav: true });
  await seedDemoDav(mailstore);
  const davPort = Number(new URL(mailstore.davUrl!).port);
  let fault: TcpFault = { kind: "pass" };
  const proxy = startTcpFaultProxy({ targetHost: "127.0.0.1", targetPort: davPort, decide: () => fault });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-dav-faults-" });
  const box = new BoxProcess(dataDir, mailstore, {
    PUSHBRIDGE_DAV_URL: `http://127.0.0.1:${proxy.port}/`,
    PUSHBRIDGE_DAV_POLL: String(DAV_POLL_SECONDS),
  });
  const started = performance.now();
  const problems: string[] = [];
  const recovery: number[] = [];
  const answers = { retry: 0, ok: 0 };
  /** Non-retryable answers by fault kind. */
  const refusedBy: Partial<Record<DavFaultKind, number>> = {};
  let current: DavFaultKind | "none" = "none";
  try {
    await box.start();
    const alice: HarnessUser = mailstore.users[0]!;
    const dav = new DavClient({
      url: new URL(mailstore.davUrl!),
      credentials: { user: alice.name, password: alice.password },
    });
    const client = box.client(alice.name, alice.password, "davphone");
    const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
    let folderKey = childText(folders.body, "SyncKey")!;
    const adds = childrenNamed(child(folders.body, "Changes"), "Add");
    const idOfType = (type: number) =>
      childText(adds.find((a) => childText(a, "Type") === String(type)), "ServerId");
    const calendarId = idOfType(8);
    const contactsId = idOfType(9);
    if (!calendarId || !contactsId) throw new Error("FolderSync shows no calendar or no address book");
    const calendar = new Phone(client, calendarId);
    const contacts = new Phone(client, contactsId, (data) => childText(data, "FileAs") ?? "");
    for (const phone of [calendar, contacts]) {
      phone.attempts = 400;
      await phone.sync();
      await phone.sync();
    }
    // A second device of the same user holds Pings on both folders (the first one's Syncs would end them).
    const pinger = box.client(alice.name, alice.password, "davpinger");
    const pushes = { woken: 0, missed: 0, slowestMs: 0 };

    /** A request during the fault: it must be answered in a way a phone retries. */
    const during = async (what: string, send: () => Promise<EasReply>): Promise<EasReply | undefined> => {
      const reply = await send().catch((error) => {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      if (!reply) return undefined;
      if (!retryable(reply)) {
        if (current !== "none") refusedBy[current] = (refusedBy[current] ?? 0) + 1;
        problems.push(`${what}: HTTP ${reply.status} ${new TextDecoder().decode(reply.raw).slice(0, 80)}`);
      } else if (reply.status === 200 && /^(1)?$/.test(statusOf(reply))) answers.ok++;
      else answers.retry++;
      return reply;
    };
    const folderSync = async (what: string) => {
      const reply = await during(
        what,
        () => client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", folderKey))),
      );
      if (reply?.status !== 200 || childText(reply.body, "Status") !== "1") return;
      const deletes = childrenNamed(child(reply.body, "Changes"), "Delete").length;
      if (deletes) problems.push(`${what}: ${deletes} folders announced deleted`);
      folderKey = childText(reply.body, "SyncKey") ?? folderKey;
    };

    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const kind = kinds[cycle % kinds.length]!;
      // A held Ping on the calendar and the address book, with the poller's baseline taken.
      const ping = pinger.send("Ping", pingBytes(300, [calendarId, contactsId]), {}, {
        "Content-Type": "application/vnd.ms-sync.wbxml",
      }).catch((error) => error as Error);
      await new Promise((r) => setTimeout(r, 1_000));
      fault = faultOf(kind, cycle);
      current = kind;
      proxy.dropConnections();
      // The desktop adds an event and a contact directly in Radicale.
      await dav.put(
        `/${alice.name}/calendar/r${cycle}.ics`,
        [
          "BEGIN:VCALENDAR",
          "VERSION:2.0",
          "PRODID:-//desk//EN",
          "BEGIN:VEVENT",
          `UID:r${cycle}`,
          "DTSTAMP:20300101T000000Z",
          `DTSTART:20300501T${String(8 + cycle % 10).padStart(2, "0")}0000Z`,
          "DURATION:PT1H",
          `SUMMARY:r${cycle}`,
          "END:VEVENT",
          "END:VCALENDAR",
          "",
        ].join("\r\n"),
        "text/calendar",
        "",
      );
      await dav.put(
        `/${alice.name}/contacts/r${cycle}.vcf`,
        [
          "BEGIN:VCARD",
          "VERSION:3.0",
          `UID:card-r${cycle}`,
          `FN:r${cycle}`,
          `N:r${cycle};;;;`,
          "END:VCARD",
          "",
        ]
          .join("\r\n"),
        "text/vcard",
        "",
      );

      const commands = [el(AS, "Add", textEl(AS, "ClientId", `p${cycle}`), appointment(`p${cycle}`, cycle))];
      const calendarReply = await during(
        `calendar Sync with an Add, DAV ${kind}`,
        () => calendar.syncOnce(commands),
      );
      const addedAlready = calendarReply?.status === 200 && statusOf(calendarReply) === "1";
      await during(`contacts Sync, DAV ${kind}`, () => contacts.syncOnce());
      await folderSync(`FolderSync, DAV ${kind}`);

      // The DAV server is back; the phone repeats what was refused, unchanged.
      const ended = performance.now();
      fault = { kind: "pass" };
      current = "none";
      proxy.dropConnections();
      await calendar.sync(addedAlready ? [] : commands);
      await contacts.sync();
      recovery.push(performance.now() - ended);
      await folderSync(`FolderSync after DAV ${kind}`);
      // The held Ping survived the outage and wakes at the next good poll.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const woke = await Promise.race([
        ping,
        new Promise<undefined>((r) => timer = setTimeout(r, (DAV_POLL_SECONDS * 2 + 5) * 1000, undefined)),
      ]);
      clearTimeout(timer);
      const wokeMs = performance.now() - ended;
      if (woke && !(woke instanceof Error) && woke.status === 200 && childText(woke.body, "Status") === "2") {
        pushes.woken++;
        pushes.slowestMs = Math.max(pushes.slowestMs, wokeMs);
      } else {
        pushes.missed++;
        problems.push(
          `Ping held through DAV ${kind}: ${
            woke === undefined
              ? "not woken"
              : woke instanceof Error
              ? woke.message
              : `HTTP ${woke.status} Status ${childText(woke.body, "Status")}`
          }`,
        );
      }
    }
    for (const phone of [calendar, contacts]) for (let i = 0; i < 3; i++) await phone.sync();

    const calendarCheck = compareLabels(calendar, await davTruth(dav, `/${alice.name}/calendar/`, "SUMMARY"));
    const contactsCheck = compareLabels(contacts, await davTruth(dav, `/${alice.name}/contacts/`, "FN"));
    client.close();
    pinger.close();
    const resyncs = calendar.resyncs + contacts.resyncs;
    return {
      scenario: kinds === KINDS
        ? "CalDAV/CardDAV down, slow, refusing logins, cut mid-response"
        : `CalDAV/CardDAV ${kinds.join(", ")}`,
      cycles: options.cycles,
      lost: calendarCheck.lost + contactsCheck.lost,
      duplicated: calendarCheck.duplicated + contactsCheck.duplicated,
      errors: problems.length + resyncs,
      recoveryMs: Math.round(Math.max(0, ...recovery)),
      notes: `${
        problems.length
          ? `not retryable: ${JSON.stringify(refusedBy)} (e.g. ${problems.slice(0, 2).join("; ")}); `
          : ""
      }` +
        `answers during faults: ${answers.retry} retry (503 or Status 16), ${answers.ok} served; ` +
        `held Pings woken after the fault ${pushes.woken}/${pushes.woken + pushes.missed} ` +
        `(slowest ${(pushes.slowestMs / 1000).toFixed(1)} s, DAV poll ${DAV_POLL_SECONDS} s); ` +
        `full resyncs ${resyncs}; ${calendar.errors + contacts.errors} requests retried after; ` +
        `proxy ${JSON.stringify(proxy.stats)}; ${Math.round((performance.now() - started) / 1000)} s`,
    };
  } finally {
    await proxy.close();
    await box.stop();
    await mailstore.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** The Status of a reply: the top one, else the first collection's ("" when none). */
function statusOf(reply: EasReply): string {
  return childText(reply.body, "Status") ??
    childText(child(child(reply.body, "Collections"), "Collection"), "Status") ?? "";
}
