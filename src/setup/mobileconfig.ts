/**
 * iOS/macOS configuration profiles (.mobileconfig) for phone onboarding: an
 * Exchange ActiveSync account payload (com.apple.eas.account) and, when the
 * box uses its own CA, that CA as a trusted root (com.apple.security.root).
 * Apple's "Configuration Profile Reference" describes the keys used here.
 *
 * @module
 */

/** What a profile for one user holds. */
export interface ProfileOptions {
  /** Host (and ":port" when not 443) phones connect to. */
  host: string;
  user: string;
  email: string;
  /** PEM of the box's CA in self-signed mode. */
  caCertPem?: string;
  /** Reverse-DNS prefix of the payload identifiers. */
  identifier?: string;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A stable UUID from a name (SHA-256 based, RFC 4122 variant bits), so a re-downloaded profile replaces the old one. */
async function nameUuid(name: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)));
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = [...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20, 32)
  }`
    .toUpperCase();
}

/** Base64 of the DER inside the first CERTIFICATE block of a PEM text. */
export function pemBody(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new SyntaxError("PEM text holds no CERTIFICATE block");
  return match[1]!.replace(/\s+/g, "");
}

function key(name: string, value: string): string {
  return `<key>${name}</key><string>${escapeXml(value)}</string>`;
}

/** Builds the unsigned profile as an XML property list. */
export async function buildMobileConfig(options: ProfileOptions): Promise<string> {
  const prefix = options.identifier ?? `local.pushbridge.${options.host.replace(/[^A-Za-z0-9.-]/g, "-")}`;
  const id = `${prefix}.${options.user.replace(/[^A-Za-z0-9.-]/g, "-")}`;
  const payloads: string[] = [];
  payloads.push(`<dict>
${key("PayloadType", "com.apple.eas.account")}<key>PayloadVersion</key><integer>1</integer>
${key("PayloadIdentifier", `${id}.eas`)}${key("PayloadUUID", await nameUuid(`${id}.eas`))}
${key("PayloadDisplayName", `Exchange (${options.email})`)}${
    key("PayloadDescription", "Mail, calendars and contacts")
  }
${key("EmailAddress", options.email)}${key("Host", options.host)}${key("UserName", options.user)}
<key>SSL</key><true/>${key("AccountName", options.email)}
</dict>`);
  if (options.caCertPem) {
    payloads.push(`<dict>
${key("PayloadType", "com.apple.security.root")}<key>PayloadVersion</key><integer>1</integer>
${key("PayloadIdentifier", `${prefix}.ca`)}${key("PayloadUUID", await nameUuid(`${prefix}.ca`))}
${key("PayloadDisplayName", "Pushbridge certificate authority")}${
      key("PayloadCertificateFileName", "pushbridge-ca.cer")
    }
<key>PayloadContent</key><data>${pemBody(options.caCertPem)}</data>
</dict>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
${key("PayloadType", "Configuration")}<key>PayloadVersion</key><integer>1</integer>
${key("PayloadIdentifier", id)}${key("PayloadUUID", await nameUuid(id))}
${key("PayloadDisplayName", `Pushbridge mail for ${options.user}`)}
${key("PayloadDescription", `Adds the Exchange account ${options.email} on ${options.host}`)}
<key>PayloadRemovalDisallowed</key><false/>
<key>PayloadContent</key><array>
${payloads.join("\n")}
</array></dict></plist>
`;
}
