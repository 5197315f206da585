/**
 * PEM armour (RFC 7468): base64 between BEGIN/END lines. Private to `tls/`.
 *
 * @module
 */

/** One PEM block: its label (such as "CERTIFICATE") and DER bytes. */
export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array<ArrayBuffer>;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Wraps DER bytes as PEM with 64-character lines (RFC 7468 2). */
export function encodePem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const b of der) binary += String.fromCharCode(b);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Every PEM block in a text, in order; text between blocks is ignored as RFC 7468 2 allows. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1]!;
    const body = match[2]!.replace(/\s+/g, "");
    let binary: string;
    try {
      binary = atob(body);
    } catch {
      throw new SyntaxError(`PEM block '${label}' does not hold valid base64`);
    }
    blocks.push({ label, der: Uint8Array.from(binary, (c) => c.charCodeAt(0)) });
  }
  return blocks;
}
