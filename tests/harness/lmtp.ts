/**
 * LMTP client (RFC 2033) for seeding mail straight into Dovecot, bypassing Postfix.
 *
 * @module
 */

import { dataBlock, Wire } from "./_wire.ts";

/**
 * Delivers `message` to `recipients` through the LMTP server on 127.0.0.1:`port`.
 * Throws with the server's reply when any step or any recipient fails.
 */
export async function deliverLmtp(
  port: number,
  from: string,
  recipients: string[],
  message: string | Uint8Array,
): Promise<void> {
  if (recipients.length === 0) throw new Error("At least one LMTP recipient is required");
  const wire = new Wire(await Deno.connect({ hostname: "127.0.0.1", port }));
  try {
    await wire.expect([220], "connect");
    await wire.command("LHLO harness.example.test", [250]);
    await wire.command(`MAIL FROM:<${from}>`, [250]);
    for (const rcpt of recipients) await wire.command(`RCPT TO:<${rcpt}>`, [250]);
    await wire.command("DATA", [354]);
    await wire.write(dataBlock(message));
    // LMTP answers DATA once per accepted recipient (RFC 2033 section 4.2).
    for (const rcpt of recipients) await wire.expect([250], `DATA for "${rcpt}"`);
    await wire.command("QUIT", [221]);
  } finally {
    wire.close();
  }
}
