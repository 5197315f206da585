/**
 * Self-signed certificates for the appliance, in pure TypeScript over
 * WebCrypto (no openssl on the device): a small local CA and a server
 * certificate it signs, both ECDSA P-256 (RFC 5480, RFC 5758).
 *
 * Pure apart from WebCrypto: no `Deno.*`.
 *
 * @module
 */
import {
  derBitString,
  derBoolean,
  derExplicit,
  derImplicit,
  derInteger,
  derNamedBits,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
} from "./der.ts";
import { decodePemBlocks, encodePem } from "./_pem.ts";
import { ipToBytes } from "./_ip.ts";
import { GeneralNameTag, Oid, parseCertificate } from "./_x509.ts";

/** Certificate lifetimes and key parameters, each with its reason. */
export const TLS_LIMITS = {
  /** Apple's rule since iOS 13: server certificates valid for more than 825 days are rejected (support.apple.com/HT210176). */
  maxServerCertificateDays: 825,
  /** Default server certificate lifetime: the longest iOS accepts, so the leaf is renewed rarely. */
  defaultServerCertificateDays: 825,
  /** The local CA lives long because every phone has to trust it by hand; the 825-day rule applies to server certificates only. */
  caCertificateDays: 3650,
  /** Backdating notBefore absorbs phones whose clocks run a little behind the appliance. */
  backdateMs: 60 * 60 * 1000,
  /** Renew the server certificate this long before it expires (also the expiry warning threshold). */
  renewBeforeDays: 30,
  /** Random serial size; RFC 5280 4.1.2.2 allows up to 20 octets and CA/B rules ask for 64+ random bits. */
  serialBytes: 16,
} as const;

const DAY_MS = 24 * 60 * 60 * 1000;

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
const KeyUsageBit = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

const EC_P256: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const ECDSA_SHA256: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

/** A certificate with its private key, both PEM. */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options of {@link generateSelfSigned} and {@link issueServerCertificate}. */
export interface ServerCertificateOptions {
  /** Subject commonName of the server certificate (informational: clients match the SANs). */
  readonly commonName: string;
  /** dNSName SAN entries. */
  readonly dnsNames: readonly string[];
  /** iPAddress SAN entries, IPv4 or IPv6 text. */
  readonly ipAddresses: readonly string[];
  /** Lifetime in days; default and maximum 825 (see {@link TLS_LIMITS}). */
  readonly days?: number;
  /** The moment the certificate is issued; defaults to now (tests pass other times). */
  readonly now?: Date;
}

/** The result of {@link generateSelfSigned}. */
export interface SelfSignedResult {
  /** The server certificate followed by the CA certificate, so the server sends the whole chain. */
  readonly certPem: string;
  /** The server certificate's private key, PKCS#8 PEM. */
  readonly keyPem: string;
  /** The CA certificate alone, for phones to install as a trusted profile. */
  readonly caCertPem: string;
  /** The CA's private key, PKCS#8 PEM, kept to renew the server certificate later. */
  readonly caKeyPem: string;
}

function randomSerial(): Uint8Array {
  const serial = crypto.getRandomValues(new Uint8Array(TLS_LIMITS.serialBytes));
  // Positive and exactly 16 octets: clear the sign bit, set the next one so no leading zero is dropped.
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

/** RFC 5280 Appendix A: ub-common-name is 64 characters; a long host name is cut rather than rejected. */
const MAX_COMMON_NAME = 64;

function name(commonName: string, organization?: string): Uint8Array {
  const rdn = (oid: string, value: string) => derSet(derSequence(derOid(oid), derUtf8String(value)));
  const rdns = organization ? [rdn(Oid.organizationName, organization)] : [];
  return derSequence(...rdns, rdn(Oid.commonName, [...commonName].slice(0, MAX_COMMON_NAME).join("")));
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return derSequence(derOid(oid), ...(critical ? [derBoolean(true)] : []), derOctetString(value));
}

/** Key identifier by RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
async function keyIdentifier(subjectPublicKey: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-1", new Uint8Array(subjectPublicKey)));
}

/**
 * WebCrypto ECDSA signatures are r||s (IEEE P1363); X.509 wants
 * Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 2.2, RFC 3279 2.2.3).
 */
export function p1363ToDerSignature(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new RangeError(`ECDSA signature of ${raw.length} bytes is not r||s`);
  }
  const half = raw.length / 2;
  return derSequence(derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half)));
}

interface SignInput {
  readonly serial: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spki: Uint8Array;
  readonly extensions: Uint8Array[];
  readonly signingKey: CryptoKey;
}

async function signCertificate(input: SignInput): Promise<Uint8Array> {
  const algorithm = derSequence(derOid(Oid.ecdsaWithSha256)); // parameters absent for ECDSA (RFC 5758 3.2)
  const tbs = derSequence(
    derExplicit(0, derInteger(2)), // v3
    derInteger(input.serial),
    algorithm,
    input.issuer,
    derSequence(derTime(input.notBefore), derTime(input.notAfter)),
    input.subject,
    input.spki,
    derExplicit(3, derSequence(...input.extensions)),
  );
  const raw = new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, input.signingKey, tbs));
  return derSequence(tbs, algorithm, derBitString(p1363ToDerSignature(raw)));
}

async function newKeyPair(): Promise<{ keys: CryptoKeyPair; spki: Uint8Array; keyPem: string }> {
  const keys = await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { keys, spki, keyPem: encodePem("PRIVATE KEY", pkcs8) };
}

function spkiPublicKeyBits(spki: Uint8Array): Uint8Array {
  // The BIT STRING is the last element of SubjectPublicKeyInfo; for a P-256 key it is 0x00 || 65-byte point.
  return spki.subarray(spki.length - 65);
}

/**
 * Generates a local CA: ECDSA P-256, CA:TRUE with pathLen 0, keyCertSign and
 * cRLSign, SubjectKeyIdentifier (RFC 5280 4.2.1.9, 4.2.1.3, 4.2.1.2).
 */
export async function generateCertificateAuthority(
  commonName: string,
  now: Date = new Date(),
): Promise<CertificateAuthority> {
  if (!commonName.trim()) throw new RangeError("CA common name is empty");
  const { keys, spki, keyPem } = await newKeyPair();
  const subject = name(commonName, "Pushbridge");
  const notBefore = new Date(now.getTime() - TLS_LIMITS.backdateMs);
  const der = await signCertificate({
    serial: randomSerial(),
    issuer: subject,
    subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + TLS_LIMITS.caCertificateDays * DAY_MS),
    spki,
    signingKey: keys.privateKey,
    extensions: [
      extension(Oid.basicConstraints, true, derSequence(derBoolean(true), derInteger(0))),
      extension(Oid.keyUsage, true, derNamedBits([KeyUsageBit.keyCertSign, KeyUsageBit.cRLSign])),
      extension(
        Oid.subjectKeyIdentifier,
        false,
        derOctetString(await keyIdentifier(spkiPublicKeyBits(spki))),
      ),
    ],
  });
  return { certPem: encodePem("CERTIFICATE", der), keyPem };
}

function validateServerOptions(options: ServerCertificateOptions): number {
  const days = options.days ?? TLS_LIMITS.defaultServerCertificateDays;
  if (!Number.isFinite(days) || days <= 0 || days > TLS_LIMITS.maxServerCertificateDays) {
    throw new RangeError(
      `Certificate lifetime '${days}' days is outside 1 to ${TLS_LIMITS.maxServerCertificateDays} (iOS rejects longer server certificates)`,
    );
  }
  if (!options.commonName.trim()) throw new RangeError("Certificate common name is empty");
  if (options.dnsNames.length + options.ipAddresses.length === 0) {
    throw new RangeError("Certificate needs at least one DNS name or IP address");
  }
  for (const dns of options.dnsNames) {
    if (!/^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(dns)) {
      throw new RangeError(`'${dns}' is not a valid DNS name for a certificate`);
    }
  }
  return days;
}

/**
 * Issues a server certificate signed by `ca`: ECDSA P-256, CA:FALSE,
 * keyUsage digitalSignature, extendedKeyUsage serverAuth, SANs with the DNS
 * names and IP addresses, Subject and Authority key identifiers.
 * Returns the leaf alone (not the chain) and its PKCS#8 key.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: ServerCertificateOptions,
): Promise<CertificateAuthority> {
  const days = validateServerOptions(options);
  const caBlock = decodePemBlocks(ca.certPem).find((b) => b.label === "CERTIFICATE");
  const caKeyBlock = decodePemBlocks(ca.keyPem).find((b) => b.label === "PRIVATE KEY");
  if (!caBlock) throw new SyntaxError("CA certificate PEM holds no CERTIFICATE block");
  if (!caKeyBlock) throw new SyntaxError("CA key PEM holds no PRIVATE KEY block");
  const caCert = parseCertificate(caBlock.der);
  const caKey = await crypto.subtle.importKey("pkcs8", caKeyBlock.der, EC_P256, false, ["sign"]);
  const { spki, keyPem } = await newKeyPair();

  const generalNames = [
    ...options.dnsNames.map((dns) => derImplicit(GeneralNameTag.dNSName, new TextEncoder().encode(dns))),
    ...options.ipAddresses.map((ip) => derImplicit(GeneralNameTag.iPAddress, ipToBytes(ip))),
  ];
  const notBefore = new Date((options.now ?? new Date()).getTime() - TLS_LIMITS.backdateMs);
  const der = await signCertificate({
    serial: randomSerial(),
    issuer: caCert.subjectDer,
    subject: name(options.commonName),
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    spki,
    signingKey: caKey,
    extensions: [
      extension(Oid.basicConstraints, true, derSequence()),
      extension(Oid.keyUsage, true, derNamedBits([KeyUsageBit.digitalSignature])),
      extension(Oid.extKeyUsage, false, derSequence(derOid(Oid.serverAuth))),
      // RFC 5280 4.2.1.6: the SAN is critical only when the subject is empty; ours has a CN.
      extension(Oid.subjectAltName, false, derSequence(...generalNames)),
      extension(
        Oid.subjectKeyIdentifier,
        false,
        derOctetString(await keyIdentifier(spkiPublicKeyBits(spki))),
      ),
      extension(
        Oid.authorityKeyIdentifier,
        false,
        derSequence(derImplicit(0, await keyIdentifier(caCert.subjectPublicKey))),
      ),
    ],
  });
  return { certPem: encodePem("CERTIFICATE", der), keyPem };
}

/**
 * Generates a local CA and a server certificate it signs. `certPem` is the
 * chain (leaf, then CA) for the server to present; `caCertPem` is what the
 * setup page offers phones to trust.
 */
export async function generateSelfSigned(options: ServerCertificateOptions): Promise<SelfSignedResult> {
  validateServerOptions(options);
  const ca = await generateCertificateAuthority(`Pushbridge local CA (${options.commonName})`, options.now);
  const leaf = await issueServerCertificate(ca, options);
  return {
    certPem: leaf.certPem + ca.certPem,
    keyPem: leaf.keyPem,
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
  };
}
