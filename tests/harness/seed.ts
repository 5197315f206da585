/**
 * Demo and test mail: varied messages (plain, HTML alternative, attachments, non-UTF-8 charsets,
 * encoded-word subjects, a reply thread) delivered to every harness user over LMTP.
 *
 * @module
 */

import type { HarnessUser } from "./_dovecot.ts";

/** The parts of a Mailstore seeding needs. */
export interface SeedTarget {
  users: HarnessUser[];
  deliver(to: string, message: string | Uint8Array): Promise<void>;
}

/** Messages delivered to each user by seedDemoMail(). */
export const DEMO_MESSAGES_PER_USER = 20;

const SUBJECTS = [
  "Quarterly numbers",
  "Lunch on Friday?",
  "Printer on the second floor",
  "Holiday schedule",
  "Invoice 2024-117",
  "Re: Project kickoff",
  "New parking rules",
  "Team photo",
  "Server maintenance tonight",
  "Welcome aboard",
] as const;

/** RFC 5322 date `daysAgo` days and `index` hours before now. */
function dateHeader(daysAgo: number, index: number): string {
  return new Date(Date.now() - daysAgo * 86_400_000 - index * 3_600_000).toUTCString().replace(
    "GMT",
    "+0000",
  );
}

/** Base64 in 76-character lines (RFC 2045 section 6.8). */
function base64Lines(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/.{1,76}/g, "$&\r\n");
}

/** ISO-8859-1 bytes of a string whose characters are all below U+0100. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => {
    const code = char.charCodeAt(0);
    if (code > 0xff) throw new Error(`Character "${char}" is not in ISO-8859-1`);
    return code;
  });
}

/** A tiny valid PNG (1x1, red) for attachment demos. */
const PNG_1X1 = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
  ),
  (char) => char.charCodeAt(0),
);

interface Demo {
  from: string;
  to: HarnessUser;
  subject: string;
  index: number;
}

function headers(demo: Demo, extra: string[] = []): string {
  return [
    `From: ${demo.from}`,
    `To: ${demo.to.name[0]!.toUpperCase()}${demo.to.name.slice(1)} <${demo.to.email}>`,
    `Subject: ${demo.subject}`,
    `Date: ${dateHeader(demo.index, demo.index)}`,
    `Message-ID: <demo-${demo.index}-${demo.to.name}@example.test>`,
    "MIME-Version: 1.0",
    ...extra,
  ].join("\r\n") + "\r\n";
}

/** The kinds of demo message, cycled through by index. */
const KINDS: ((demo: Demo) => string | Uint8Array)[] = [
  (demo) =>
    headers(demo, ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]) +
    `\r\nHello ${demo.to.name},\r\n\r\nthis is plain text message ${demo.index}. Grüße, ciao, 你好.\r\n`,
  (demo) => {
    const boundary = `alt-${demo.index}`;
    return headers(demo, [`Content-Type: multipart/alternative; boundary="${boundary}"`]) +
      `\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe plain part of message ${demo.index}.\r\n` +
      `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n` +
      `<html><body><p style=3D"color:#036">The <b>HTML</b> part of message ${demo.index}.</p></body></html>\r\n` +
      `--${boundary}--\r\n`;
  },
  (demo) => {
    const boundary = `mixed-${demo.index}`;
    return headers(demo, [`Content-Type: multipart/mixed; boundary="${boundary}"`]) +
      `\r\n--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTwo attachments for message ${demo.index}.\r\n` +
      `--${boundary}\r\nContent-Type: image/png; name="dot.png"\r\nContent-Disposition: attachment; filename="dot.png"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(PNG_1X1)}` +
      `--${boundary}\r\nContent-Type: text/csv; charset=utf-8; name="numbers.csv"\r\n` +
      `Content-Disposition: attachment; filename="numbers.csv"\r\n\r\nmonth,amount\r\nJan,10\r\nFeb,${demo.index}\r\n` +
      `--${boundary}--\r\n`;
  },
  (demo) => {
    // Raw ISO-8859-1 bytes in an 8bit body, and a Q-encoded Latin-1 subject (RFC 2047).
    const head = headers({ ...demo, subject: "=?ISO-8859-1?Q?R=E9union_=E0_caf=E9?=" }, [
      "Content-Type: text/plain; charset=iso-8859-1",
      "Content-Transfer-Encoding: 8bit",
    ]);
    const body = latin1(
      `\r\nBonjour ${demo.to.name}, réunion à ${demo.index} h au café. Prix: 5 £, ½ tarif.\r\n`,
    );
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(latin1(head));
    bytes.set(body, head.length);
    return bytes;
  },
  (demo) =>
    headers({ ...demo, subject: `Re: ${demo.subject}` }, [
      `In-Reply-To: <demo-${demo.index - 1}-${demo.to.name}@example.test>`,
      `References: <demo-${demo.index - 1}-${demo.to.name}@example.test>`,
      "Content-Type: text/plain; charset=windows-1252",
      "Content-Transfer-Encoding: quoted-printable",
    ]) +
    `\r\nAgreed =96 see you then. =93Quoted=94 text follows.\r\n\r\n> earlier message ${demo.index - 1}\r\n`,
];

/** Builds the demo messages for `to`; senders are the other users and a few outside addresses. */
export function demoMessages(users: HarnessUser[], to: HarnessUser): (string | Uint8Array)[] {
  const senders = [
    ...users.filter((user) => user !== to).map((user) => `${user.name} <${user.email}>`),
    "Newsletter <news@shop.example.org>",
    '"Müller, Jürgen" <j.mueller@example.net>',
  ];
  return Array.from({ length: DEMO_MESSAGES_PER_USER }, (_, index) => {
    const demo = {
      from: senders[index % senders.length]!,
      to,
      subject: SUBJECTS[index % SUBJECTS.length]!,
      index,
    };
    return KINDS[index % KINDS.length]!(demo);
  });
}

/** Delivers DEMO_MESSAGES_PER_USER varied messages into every user's INBOX. */
export async function seedDemoMail(store: SeedTarget): Promise<void> {
  for (const user of store.users) {
    for (const message of demoMessages(store.users, user)) await store.deliver(user.email, message);
  }
}
