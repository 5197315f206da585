/**
 * Reading certificates: the facts the setup page shows and the checks it
 * runs on an uploaded certificate (expiry, key match, chain order).
 *
 * Pure apart from WebCrypto: no `Deno.*`.
 *
 * @module
 */
import {
  derChildren,
  derDecode,
  derExpect,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derReadOid,
  derSequence,
  DerTag,
} from "./der.ts";
import { decodePemBlocks, encodePem } from "./_pem.ts";
import { Oid, parseCertificate, type ParsedCertificate } from "./_x509.ts";

/** What the appliance shows and checks about a certificate. */
export interface CertificateInfo {
  readonly subjectCommonName: string | undefined;
  readonly issuerCommonName: string | undefined;
  readonly dnsNames: string[];
  /** iPAddress SANs as text, IPv6 in RFC 5952 form. */
  readonly ipAddresses: string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** BasicConstraints cA (RFC 5280 4.2.1.9). */
  readonly isCa: boolean;
  /** SHA-256 of the DER, upper-case hex pairs joined by colons (the form phones and openssl show). */
  readonly fingerprintSha256: string;
  /** Serial number as lower-case hex. */
  readonly serialNumber: string;
}

/** Result of {@link checkExpiry}. */
export type ExpiryStatus = "ok" | "expiring" | "expired" | "not-yet-valid";

const DAY_MS = 24 * 60 * 60 * 1000;

function hex(bytes: Uint8Array, separator = ""): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(separator);
}

/** The CERTIFICATE blocks of a PEM bundle, each re-armoured as its own PEM, in order. */
export function splitPemChain(pem: string): string[] {
  const certs = decodePemBlocks(pem).filter((b) => b.label === "CERTIFICATE");
  if (certs.length === 0) throw new SyntaxError("PEM text holds no CERTIFICATE block");
  return certs.map((b) => encodePem("CERTIFICATE", b.der));
}

function firstCertificate(pem: string): ParsedCertificate {
  const block = decodePemBlocks(pem).find((b) => b.label === "CERTIFICATE");
  if (!block) throw new SyntaxError("PEM text holds no CERTIFICATE block");
  return parseCertificate(block.der);
}

/** Reads the first certificate of a PEM bundle. */
export async function readCertificateInfo(pem: string): Promise<CertificateInfo> {
  const cert = firstCertificate(pem);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(cert.der)));
  return {
    subjectCommonName: cert.subjectCommonName,
    issuerCommonName: cert.issuerCommonName,
    dnsNames: cert.dnsNames,
    ipAddresses: cert.ipAddresses,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.isCa,
    fingerprintSha256: hex(digest, ":").toUpperCase(),
    serialNumber: hex(cert.serialNumber).replace(/^00(?=.)/, ""),
  };
}

/**
 * Where `now` falls in the validity period; "expiring" when fewer than
 * `warnDays` days are left.
 */
export function checkExpiry(
  info: Pick<CertificateInfo, "notBefore" | "notAfter">,
  now: Date = new Date(),
  warnDays = 30,
): ExpiryStatus {
  const t = now.getTime();
  if (t < info.notBefore.getTime()) return "not-yet-valid";
  if (t > info.notAfter.getTime()) return "expired";
  if (info.notAfter.getTime() - t < warnDays * DAY_MS) return "expiring";
  return "ok";
}

type KeyAlgorithm = RsaHashedImportParams | EcKeyImportParams | Algorithm;

const CURVES: Record<string, string> = {
  [Oid.prime256v1]: "P-256",
  [Oid.secp384r1]: "P-384",
  [Oid.secp521r1]: "P-521",
};

function importAlgorithm(algorithmOid: string, parameterOid: string | undefined): KeyAlgorithm {
  if (algorithmOid === Oid.rsaEncryption) return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  if (algorithmOid === Oid.ed25519) return { name: "Ed25519" };
  if (algorithmOid === Oid.ecPublicKey) {
    const namedCurve = parameterOid ? CURVES[parameterOid] : undefined;
    if (!namedCurve) throw new RangeError(`Elliptic curve '${parameterOid ?? "implicit"}' is not supported`);
    return { name: "ECDSA", namedCurve } as EcKeyImportParams;
  }
  throw new RangeError(`Key algorithm '${algorithmOid}' is not supported`);
}

/** The public members of a JWK that identify a key pair (RFC 7518 6.2, 6.3; RFC 8037 2). */
function publicPart(jwk: JsonWebKey): string {
  return JSON.stringify([jwk.kty, jwk.crv, jwk.n, jwk.e, jwk.x, jwk.y]);
}

/** PKCS#8 DER and its algorithm from "PRIVATE KEY", "EC PRIVATE KEY" (SEC1) or "RSA PRIVATE KEY" (PKCS#1) PEM. */
function privateKeyPkcs8(keyPem: string): { pkcs8: Uint8Array<ArrayBuffer>; algorithm: KeyAlgorithm } {
  const block = decodePemBlocks(keyPem).find((b) => b.label.endsWith("PRIVATE KEY"));
  if (!block) throw new SyntaxError("PEM text holds no PRIVATE KEY block");
  if (block.label === "ENCRYPTED PRIVATE KEY") {
    throw new RangeError("Encrypted private keys are not supported: store the key without a passphrase");
  }
  const parts = derChildren(derExpect(derDecode(block.der), DerTag.SEQUENCE, "a private key"));
  if (block.label === "RSA PRIVATE KEY") {
    // RFC 8017 A.1.2 wrapped in RFC 5208 PrivateKeyInfo.
    const pkcs8 = derSequence(
      derInteger(0),
      derSequence(derOid(Oid.rsaEncryption), derNull()),
      derOctetString(block.der),
    );
    return { pkcs8, algorithm: importAlgorithm(Oid.rsaEncryption, undefined) };
  }
  if (block.label === "EC PRIVATE KEY") {
    // RFC 5915 3: parameters [0] name the curve.
    const params = parts.find((p) => p.identifier === 0xa0);
    const curve = params ? derReadOid(derChildren(params)[0]!) : undefined;
    if (!curve) throw new RangeError("EC private key does not name its curve");
    const pkcs8 = derSequence(
      derInteger(0),
      derSequence(derOid(Oid.ecPublicKey), derOid(curve)),
      derOctetString(block.der),
    );
    return { pkcs8, algorithm: importAlgorithm(Oid.ecPublicKey, curve) };
  }
  if (block.label !== "PRIVATE KEY") {
    throw new RangeError(`PEM block '${block.label}' is not a supported key type`);
  }
  const [algorithmOid, parameter] = derChildren(
    derExpect(parts[1], DerTag.SEQUENCE, "an AlgorithmIdentifier"),
  );
  const parameterOid = parameter?.identifier === DerTag.OBJECT_IDENTIFIER ? derReadOid(parameter) : undefined;
  return { pkcs8: block.der, algorithm: importAlgorithm(derReadOid(algorithmOid!), parameterOid) };
}

/**
 * Whether the private key in `keyPem` belongs to the first certificate of
 * `certPem`, by comparing public key members through WebCrypto (EC P-256,
 * P-384, RSA, Ed25519). Throws a clear error for unreadable or unsupported keys.
 */
export async function checkKeyMatchesCert(certPem: string, keyPem: string): Promise<boolean> {
  const cert = firstCertificate(certPem);
  const { pkcs8, algorithm } = privateKeyPkcs8(keyPem);
  const certAlgorithm = importAlgorithm(cert.publicKeyAlgorithm, cert.publicKeyParameter);
  if (JSON.stringify(certAlgorithm) !== JSON.stringify(algorithm)) return false;
  let privateJwk: JsonWebKey;
  try {
    const key = await crypto.subtle.importKey("pkcs8", pkcs8, algorithm, true, ["sign"]);
    privateJwk = await crypto.subtle.exportKey("jwk", key);
  } catch (error) {
    throw new SyntaxError(`Private key cannot be read: ${(error as Error).message}`);
  }
  const publicKey = await crypto.subtle.importKey(
    "spki",
    new Uint8Array(cert.subjectPublicKeyInfo),
    algorithm,
    true,
    ["verify"],
  );
  return publicPart(await crypto.subtle.exportKey("jwk", publicKey)) === publicPart(privateJwk);
}

/**
 * Checks that a chain is in order: each certificate's issuer commonName is
 * the next one's subject commonName, and each issuing certificate is a CA.
 * Takes the PEMs one per certificate or one bundle. Returns one message per
 * problem; empty means the chain is in order.
 */
export function checkChain(pems: string | readonly string[]): string[] {
  const list = typeof pems === "string" ? [pems] : pems;
  const certs: ParsedCertificate[] = [];
  const errors: string[] = [];
  for (const pem of list) {
    const blocks = decodePemBlocks(pem).filter((b) => b.label === "CERTIFICATE");
    for (const block of blocks) {
      try {
        certs.push(parseCertificate(block.der));
      } catch (error) {
        errors.push(
          `Certificate ${certs.length + errors.length + 1} cannot be parsed: ${(error as Error).message}`,
        );
      }
    }
  }
  if (errors.length) return errors;
  if (certs.length === 0) return ["No certificate found"];
  const label = (i: number) => `certificate ${i + 1} ('${certs[i]!.subjectCommonName ?? "no common name"}')`;
  for (let i = 0; i + 1 < certs.length; i++) {
    const cert = certs[i]!;
    const next = certs[i + 1]!;
    if (cert.issuerCommonName !== next.subjectCommonName) {
      errors.push(
        `${capitalize(label(i))} is issued by '${cert.issuerCommonName ?? ""}' but the next is ${
          label(i + 1)
        }`,
      );
    } else if (!next.isCa) {
      errors.push(`${capitalize(label(i + 1))} issues ${label(i)} but is not a CA certificate`);
    }
  }
  return errors;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
