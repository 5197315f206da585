/**
 * A tiny IMAP check session, independent of src/, for tests to verify what the server holds:
 * logs in over plain TCP, runs raw commands and returns the transcript.
 *
 * @module
 */

import { Wire } from "./_wire.ts";

/** The parts of a Mailstore the check session needs. */
export interface ImapTarget {
  imapPort: number;
  users: { name: string; password: string; email: string }[];
}

/** IMAP quoted string (RFC 3501 section 4.3) for LOGIN arguments. */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/** Reads responses up to and including the tagged one; literals are kept inline. */
async function readUntilTagged(wire: Wire, tag: string, lines: string[]): Promise<string> {
  while (true) {
    let line = await wire.readLine();
    // A line ending in {n} is followed by n bytes of literal and then the rest of the response.
    for (let literal = /\{(\d+)\}$/.exec(line); literal; literal = /\{(\d+)\}$/.exec(line)) {
      const bytes = await wire.readBytes(Number(literal[1]));
      line += "\r\n" + new TextDecoder().decode(bytes) + (await wire.readLine());
    }
    lines.push(line);
    if (line.startsWith(`${tag} `)) return line;
  }
}

/**
 * Logs in as `user` (login name or HarnessUser), sends each command with tags `a1`, `a2`, ...,
 * logs out and returns the transcript ("C: " for sent lines, server lines as received).
 * Throws when LOGIN fails; a NO or BAD to one of `commands` is left in the transcript.
 */
export async function imapCommand(
  store: ImapTarget,
  user: string | { name: string; password: string },
  commands: string[],
): Promise<string> {
  const account = typeof user === "string" ? store.users.find((candidate) => candidate.name === user) : user;
  if (!account) throw new Error(`Unknown harness user "${String(user)}"`);
  const wire = new Wire(await Deno.connect({ hostname: "127.0.0.1", port: store.imapPort }));
  const lines: string[] = [];
  try {
    lines.push(await wire.readLine());
    await wire.write(`a0 LOGIN ${quoted(account.name)} ${quoted(account.password)}\r\n`);
    lines.push(`C: a0 LOGIN ${quoted(account.name)} "***"`);
    const login = await readUntilTagged(wire, "a0", lines);
    if (!login.startsWith("a0 OK")) throw new Error(`IMAP login of "${account.name}" failed: ${login}`);
    for (const [index, command] of commands.entries()) {
      const tag = `a${index + 1}`;
      lines.push(`C: ${tag} ${command}`);
      await wire.write(`${tag} ${command}\r\n`);
      await readUntilTagged(wire, tag, lines);
    }
    lines.push("C: z LOGOUT");
    await wire.write("z LOGOUT\r\n");
    await readUntilTagged(wire, "z", lines);
  } finally {
    wire.close();
  }
  return lines.join("\r\n") + "\r\n";
}

/** Number of messages in `mailbox` of `user`, from STATUS. */
export async function messageCount(store: ImapTarget, user: string, mailbox = "INBOX"): Promise<number> {
  const transcript = await imapCommand(store, user, [`STATUS ${quoted(mailbox)} (MESSAGES)`]);
  const match = /\* STATUS .* \(MESSAGES (\d+)\)/.exec(transcript);
  if (!match) throw new Error(`No STATUS reply for mailbox "${mailbox}"\n${transcript}`);
  return Number(match[1]);
}
