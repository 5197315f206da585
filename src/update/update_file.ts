/**
 * The signed update file (`.pbu`): a small header signed with the vendor's
 * Ed25519 key, followed by the release payload (a tar.gz whose
 * `bin/pushbridge` starts the program). The header carries the payload's
 * SHA-256, so one signature over a few hundred bytes covers a payload of any
 * size, and the payload is hashed as a stream, never held in memory.
 *
 * Layout: MAGIC | u32 big-endian header length | header JSON (UTF-8) |
 * 64-byte Ed25519 signature over everything before it | payload.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** File magic and format version. */
export const UPDATE_MAGIC = "PBUPDATE1\n" as const;

/** Bounds of a well-formed update file, each with its reason. */
export const UPDATE_LIMITS = {
  /** A header is a few hundred bytes of JSON; a larger one is not ours. */
  maxHeaderBytes: 16 * 1024,
  /** Ed25519 signatures are 64 bytes (RFC 8032 5.1.6). */
  signatureBytes: 64,
  /** Ed25519 public keys are 32 bytes (RFC 8032 5.1.5). */
  publicKeyBytes: 32,
} as const;

/** What the signed header says about the payload. */
export interface UpdateManifest {
  /** Format of the header itself. */
  format: 1;
  /** The version the payload's `bin/pushbridge --version` reports. */
  version: string;
  /** Deno.build.arch of the target ("x86_64", "aarch64"). */
  arch: string;
  /** "bundle" (runtime + bundled JS) or "binary" (deno compile output). */
  kind: "bundle" | "binary";
  payloadBytes: number;
  /** Lower-case hex SHA-256 of the payload. */
  payloadSha256: string;
  /** ISO time of signing. */
  created: string;
}

/** An update file whose header signature and payload hash were checked. */
export interface VerifiedUpdate {
  manifest: UpdateManifest;
  /** Byte offset of the payload in the file. */
  payloadOffset: number;
}

/** The update file cannot be installed; the message says why. */
export class UpdateVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UpdateVerificationError";
  }
}

const encoder = new TextEncoder();

function headerPrefix(manifest: UpdateManifest): Uint8Array<ArrayBuffer> {
  const json = encoder.encode(JSON.stringify(manifest));
  const magic = encoder.encode(UPDATE_MAGIC);
  const out = new Uint8Array(magic.length + 4 + json.length);
  out.set(magic, 0);
  new DataView(out.buffer).setUint32(magic.length, json.length);
  out.set(json, magic.length + 4);
  return out;
}

/** Imports a public key from its base64 text form (32 raw bytes). */
export async function importUpdatePublicKey(base64Text: string): Promise<CryptoKey> {
  let raw: Uint8Array<ArrayBuffer>;
  try {
    raw = Uint8Array.from(atob(base64Text.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new UpdateVerificationError("Update public key is not base64 text");
  }
  if (raw.length !== UPDATE_LIMITS.publicKeyBytes) {
    throw new UpdateVerificationError(`Update public key has ${raw.length} bytes, not 32`);
  }
  return await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

/** Streams a file range through SHA-256. */
async function sha256OfRange(path: string, offset: number): Promise<{ hex: string; bytes: number }> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  await file.seek(offset, Deno.SeekMode.Start);
  let bytes = 0;
  const buffer = new Uint8Array(256 * 1024);
  while (true) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
    bytes += n;
  }
  return { hex: hash.digest("hex"), bytes };
}

async function readExactly(file: Deno.FsFile, length: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) return undefined;
    filled += n;
  }
  return out;
}

function parseManifest(json: string): UpdateManifest {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new UpdateVerificationError("Update header is not JSON");
  }
  const m = value as Partial<UpdateManifest>;
  const ok = m && m.format === 1 && typeof m.version === "string" &&
    /^[0-9A-Za-z.+-]{1,64}$/.test(m.version) &&
    typeof m.arch === "string" && (m.kind === "bundle" || m.kind === "binary") &&
    Number.isSafeInteger(m.payloadBytes) && typeof m.payloadSha256 === "string" &&
    /^[0-9a-f]{64}$/.test(m.payloadSha256) && typeof m.created === "string";
  if (!ok) throw new UpdateVerificationError("Update header lacks a field or has a bad value");
  return m as UpdateManifest;
}

/**
 * Checks an update file: magic, header signature with `publicKey`, payload
 * length and SHA-256. Throws {@link UpdateVerificationError} naming the
 * first problem; the signature is checked before anything in the header is
 * trusted.
 */
export async function verifyUpdateFile(path: string, publicKey: CryptoKey): Promise<VerifiedUpdate> {
  const magic = encoder.encode(UPDATE_MAGIC);
  let prefix: Uint8Array<ArrayBuffer>;
  let signature: Uint8Array<ArrayBuffer>;
  {
    using file = await Deno.open(path, { read: true });
    const head = await readExactly(file, magic.length + 4);
    if (!head || !head.subarray(0, magic.length).every((b, i) => b === magic[i])) {
      throw new UpdateVerificationError(`'${path}' is not a pushbridge update file`);
    }
    const length = new DataView(head.buffer).getUint32(magic.length);
    if (length > UPDATE_LIMITS.maxHeaderBytes) {
      throw new UpdateVerificationError(`Update header of ${length} bytes is too large`);
    }
    const json = await readExactly(file, length);
    const sig = await readExactly(file, UPDATE_LIMITS.signatureBytes);
    if (!json || !sig) throw new UpdateVerificationError(`'${path}' is truncated`);
    prefix = new Uint8Array(head.length + json.length);
    prefix.set(head, 0);
    prefix.set(json, head.length);
    signature = sig;
  }
  const valid = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, prefix);
  if (!valid) throw new UpdateVerificationError("Update signature does not match the box's update key");
  const manifest = parseManifest(new TextDecoder().decode(prefix.subarray(magic.length + 4)));
  const payloadOffset = prefix.length + UPDATE_LIMITS.signatureBytes;
  const digest = await sha256OfRange(path, payloadOffset);
  if (digest.bytes !== manifest.payloadBytes) {
    throw new UpdateVerificationError(
      `Update payload has ${digest.bytes} bytes, the signed header says ${manifest.payloadBytes}`,
    );
  }
  if (digest.hex !== manifest.payloadSha256) {
    throw new UpdateVerificationError("Update payload does not match its signed SHA-256");
  }
  return { manifest, payloadOffset };
}

/**
 * Writes a signed update file from a payload file (build side: used by
 * appliance/sign_update.ts and the tests).
 */
export async function writeUpdateFile(
  outPath: string,
  payloadPath: string,
  fields: Pick<UpdateManifest, "version" | "arch" | "kind">,
  privateKey: CryptoKey,
  now: Date = new Date(),
): Promise<UpdateManifest> {
  const digest = await sha256OfRange(payloadPath, 0);
  const manifest: UpdateManifest = {
    format: 1,
    version: fields.version,
    arch: fields.arch,
    kind: fields.kind,
    payloadBytes: digest.bytes,
    payloadSha256: digest.hex,
    created: now.toISOString(),
  };
  const prefix = headerPrefix(manifest);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, prefix));
  const temporary = `${outPath}.tmp`;
  {
    using out = await Deno.open(temporary, { write: true, create: true, truncate: true });
    await out.write(prefix);
    await out.write(signature);
    using payload = await Deno.open(payloadPath, { read: true });
    await payload.readable.pipeTo(out.writable, { preventClose: true });
  }
  await Deno.rename(temporary, outPath);
  return manifest;
}

/** Generates an Ed25519 update key pair: PKCS#8 PEM private key, base64 raw public key. */
export async function generateUpdateKeyPair(): Promise<{ privatePem: string; publicBase64: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  const lines = b64(pkcs8).match(/.{1,64}/g) ?? [];
  return {
    privatePem: `-----BEGIN PRIVATE KEY-----\n${lines.join("\n")}\n-----END PRIVATE KEY-----\n`,
    publicBase64: `${b64(raw)}\n`,
  };
}

/** Imports the PKCS#8 PEM private key written by {@link generateUpdateKeyPair}. */
export async function importUpdatePrivateKey(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
}
