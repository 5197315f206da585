/**
 * Demo calendars, tasks and address books in the harness's Radicale, written
 * with plain WebDAV requests (independent of src/): a calendar with a meeting,
 * a weekly recurring event in a time zone and an all-day event, a task list,
 * and an address book with colleagues.
 */
import type { HarnessUser } from "./_dovecot.ts";

/** What seeding needs of a started mailstore. */
export interface DavSeedTarget {
  davUrl?: string;
  users: HarnessUser[];
}

const CALDAV = "urn:ietf:params:xml:ns:caldav";
const CARDDAV = "urn:ietf:params:xml:ns:carddav";

async function dav(
  target: DavSeedTarget,
  user: HarnessUser,
  method: string,
  path: string,
  body: string,
  contentType: string,
): Promise<void> {
  const response = await fetch(new URL(path, target.davUrl), {
    method,
    body,
    headers: {
      "Authorization": "Basic " + btoa(`${user.name}:${user.password}`),
      "Content-Type": contentType,
    },
  });
  await response.body?.cancel();
  if (!response.ok) {
    throw new Error(`${method} ${path} for '${user.name}' failed with HTTP ${response.status}`);
  }
}

/** iCalendar UTC form (RFC 5545 3.3.5) of a date. */
function utc(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function day(date: Date): string {
  return utc(date).slice(0, 8);
}

function calendarObject(body: string): string {
  return ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Pushbridge//demo//EN", body, "END:VCALENDAR", ""].join(
    "\r\n",
  );
}

/** Creates the collections and items for every user; fails loudly when Radicale refuses. */
export async function seedDemoDav(target: DavSeedTarget, now = new Date()): Promise<void> {
  if (!target.davUrl) throw new Error("The mailstore was started without DAV");
  const hour = 3600_000;
  const tomorrowTen = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 10));
  for (const user of target.users) {
    const others = target.users.filter((u) => u !== user);
    const mkcalendar = (name: string, display: string, component: string) =>
      dav(
        target,
        user,
        "MKCALENDAR",
        `/${user.name}/${name}/`,
        `<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="${CALDAV}"><d:set><d:prop>` +
          `<d:displayname>${display}</d:displayname><c:supported-calendar-component-set><c:comp name="${component}"/>` +
          `</c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`,
        "application/xml",
      );
    await mkcalendar("calendar", "Calendar", "VEVENT");
    await mkcalendar("tasks", "Tasks", "VTODO");
    await dav(
      target,
      user,
      "MKCOL",
      `/${user.name}/contacts/`,
      `<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="${CARDDAV}"><d:set><d:prop><d:resourcetype>` +
        `<d:collection/><c:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>`,
      "application/xml",
    );

    const ics = (name: string, body: string) =>
      dav(target, user, "PUT", `/${user.name}/calendar/${name}.ics`, calendarObject(body), "text/calendar");
    const stamp = utc(now);
    await ics(
      "planning",
      [
        "BEGIN:VEVENT",
        `UID:planning-${user.name}@demo.test`,
        `DTSTAMP:${stamp}`,
        `DTSTART:${utc(tomorrowTen)}`,
        `DTEND:${utc(new Date(tomorrowTen.getTime() + hour))}`,
        "SUMMARY:Quarterly planning",
        "LOCATION:Meeting room 1",
        `ORGANIZER;CN=${user.name}:mailto:${user.email}`,
        ...others.map((o) =>
          `ATTENDEE;CN=${o.name};PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT:mailto:${o.email}`
        ),
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:Reminder",
        "TRIGGER:-PT15M",
        "END:VALARM",
        "END:VEVENT",
      ].join("\r\n"),
    );
    await ics(
      "standup",
      [
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "BEGIN:STANDARD",
        "DTSTART:19701025T030000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:19700329T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        `UID:standup-${user.name}@demo.test`,
        `DTSTAMP:${stamp}`,
        `DTSTART;TZID=Europe/Berlin:${day(now)}T091500`,
        `DTEND;TZID=Europe/Berlin:${day(now)}T093000`,
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "SUMMARY:Stand-up",
        "END:VEVENT",
      ].join("\r\n"),
    );
    const offsite = new Date(now.getTime() + 7 * 24 * hour);
    await ics(
      "offsite",
      [
        "BEGIN:VEVENT",
        `UID:offsite-${user.name}@demo.test`,
        `DTSTAMP:${stamp}`,
        `DTSTART;VALUE=DATE:${day(offsite)}`,
        `DTEND;VALUE=DATE:${day(new Date(offsite.getTime() + 24 * hour))}`,
        "SUMMARY:Team offsite",
        "TRANSP:OPAQUE",
        "END:VEVENT",
      ].join("\r\n"),
    );

    const todo = (name: string, summary: string, due: Date, done: boolean) =>
      dav(
        target,
        user,
        "PUT",
        `/${user.name}/tasks/${name}.ics`,
        calendarObject(
          [
            "BEGIN:VTODO",
            `UID:${name}-${user.name}@demo.test`,
            `DTSTAMP:${stamp}`,
            `SUMMARY:${summary}`,
            `DUE;VALUE=DATE:${day(due)}`,
            done ? `STATUS:COMPLETED\r\nCOMPLETED:${stamp}` : "STATUS:NEEDS-ACTION",
            "PRIORITY:5",
            "END:VTODO",
          ].join("\r\n"),
        ),
        "text/calendar",
      );
    await todo("invoices", "Send the invoices", new Date(now.getTime() + 2 * 24 * hour), false);
    await todo("backup", "Check the backup", now, true);

    for (const other of others) {
      const [first, ...rest] = other.name;
      const given = (first ?? "").toUpperCase() + rest.join("");
      await dav(
        target,
        user,
        "PUT",
        `/${user.name}/contacts/${other.name}.vcf`,
        [
          "BEGIN:VCARD",
          "VERSION:3.0",
          `UID:${other.name}-card@demo.test`,
          `FN:${given} Example`,
          `N:Example;${given};;;`,
          `EMAIL;TYPE=INTERNET,WORK:${other.email}`,
          "TEL;TYPE=WORK,VOICE:+49 30 1234567",
          "ORG:Example Office",
          "TITLE:Colleague",
          "END:VCARD",
          "",
        ].join("\r\n"),
        "text/vcard",
      );
    }
  }
}
