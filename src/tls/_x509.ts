/**
 * X.509 structure (RFC 5280 4.1): object identifiers and a parser that
 * returns the parts the rest of `tls/` reads. Private to `tls/`.
 *
 * @module
 */
import {
  derChildren,
  DerClass,
  derDecode,
  derExpect,
  type DerNode,
  derReadBitString,
  derReadBoolean,
  derReadOid,
  derReadString,
  derReadTime,
  DerSyntaxError,
  DerTag,
} from "./der.ts";
import { ipFromBytes } from "./_ip.ts";

/** Object identifiers used in certificates and keys. */
export const Oid = {
  /** RFC 5280 4.1.2.4 / X.520 commonName. */
  commonName: "2.5.4.3",
  /** X.520 organizationName. */
  organizationName: "2.5.4.10",
  /** RFC 5280 4.2.1.2. */
  subjectKeyIdentifier: "2.5.29.14",
  /** RFC 5280 4.2.1.3. */
  keyUsage: "2.5.29.15",
  /** RFC 5280 4.2.1.6. */
  subjectAltName: "2.5.29.17",
  /** RFC 5280 4.2.1.9. */
  basicConstraints: "2.5.29.19",
  /** RFC 5280 4.2.1.1. */
  authorityKeyIdentifier: "2.5.29.35",
  /** RFC 5280 4.2.1.12. */
  extKeyUsage: "2.5.29.37",
  /** RFC 5280 4.2.1.12 id-kp-serverAuth. */
  serverAuth: "1.3.6.1.5.5.7.3.1",
  /** RFC 5758 3.2 ecdsa-with-SHA256. */
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  /** RFC 5480 2.1.1 id-ecPublicKey. */
  ecPublicKey: "1.2.840.10045.2.1",
  /** RFC 5480 2.1.1.1 secp256r1 / prime256v1. */
  prime256v1: "1.2.840.10045.3.1.7",
  /** RFC 5480 2.1.1.1 secp384r1. */
  secp384r1: "1.3.132.0.34",
  /** RFC 5480 2.1.1.1 secp521r1. */
  secp521r1: "1.3.132.0.35",
  /** RFC 8017 A.1 rsaEncryption. */
  rsaEncryption: "1.2.840.113549.1.1.1",
  /** RFC 8410 3 id-Ed25519. */
  ed25519: "1.3.101.112",
} as const;

/** Context tags of GeneralName choices (RFC 5280 4.2.1.6). */
export const GeneralNameTag = {
  dNSName: 2,
  iPAddress: 7,
} as const;

/** The parts of a certificate that `tls/` reads. */
export interface ParsedCertificate {
  /** The whole certificate DER. */
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly serialNumber: Uint8Array;
  readonly issuerDer: Uint8Array;
  readonly subjectDer: Uint8Array;
  readonly issuerCommonName: string | undefined;
  readonly subjectCommonName: string | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER, as WebCrypto's "spki" format takes it. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** The subjectPublicKey BIT STRING's bytes (what RFC 5280 4.2.1.2 method 1 hashes). */
  readonly subjectPublicKey: Uint8Array;
  readonly publicKeyAlgorithm: string;
  /** The algorithm parameters' OID when they are one (the named curve of an EC key). */
  readonly publicKeyParameter: string | undefined;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly isCa: boolean;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

const SEQ = DerTag.SEQUENCE;

/** The first commonName of a Name (RFC 5280 4.1.2.4), if any. */
function commonNameOf(name: DerNode): string | undefined {
  for (const rdn of derChildren(derExpect(name, SEQ, "a Name"))) {
    for (const attribute of derChildren(derExpect(rdn, DerTag.SET, "a RelativeDistinguishedName"))) {
      const [type, value] = derChildren(derExpect(attribute, SEQ, "an AttributeTypeAndValue"));
      if (type && value && derReadOid(type) === Oid.commonName) return derReadString(value);
    }
  }
  return undefined;
}

function readExtensions(node: DerNode | undefined): Map<string, { critical: boolean; value: Uint8Array }> {
  const map = new Map<string, { critical: boolean; value: Uint8Array }>();
  if (!node) return map;
  const [list] = derChildren(node);
  for (const extension of derChildren(derExpect(list, SEQ, "Extensions"))) {
    const parts = derChildren(derExpect(extension, SEQ, "an Extension"));
    const oid = derReadOid(parts[0]!);
    const critical = parts.length === 3 ? derReadBoolean(parts[1]!) : false;
    const value = derExpect(parts[parts.length - 1], DerTag.OCTET_STRING, "an extnValue").content;
    map.set(oid, { critical, value });
  }
  return map;
}

/** Parses a DER certificate; throws {@link DerSyntaxError} for anything that is not one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const [tbsNode, sigAlgNode, sigNode] = derChildren(derExpect(derDecode(der), SEQ, "a Certificate"));
  const tbsParts = derChildren(derExpect(tbsNode, SEQ, "a TBSCertificate"));
  let i = 0;
  // version [0] EXPLICIT is absent for v1 certificates (RFC 5280 4.1.2.1).
  if (tbsParts[0]?.identifier === (DerClass.CONTEXT | 0x20 | 0)) i++;
  const serial = derExpect(tbsParts[i++], DerTag.INTEGER, "a serialNumber");
  i++; // signature AlgorithmIdentifier, repeated outside the TBS
  const issuer = derExpect(tbsParts[i++], SEQ, "an issuer Name");
  const [notBefore, notAfter] = derChildren(derExpect(tbsParts[i++], SEQ, "a Validity"));
  if (!notBefore || !notAfter) {
    throw new DerSyntaxError("Validity needs notBefore and notAfter", issuer.offset);
  }
  const subject = derExpect(tbsParts[i++], SEQ, "a subject Name");
  const spki = derExpect(tbsParts[i++], SEQ, "a SubjectPublicKeyInfo");
  const [spkiAlg, spkiKey] = derChildren(spki);
  const [keyAlgOid, keyParam] = derChildren(derExpect(spkiAlg, SEQ, "an AlgorithmIdentifier"));
  const extensionsNode = tbsParts.slice(i).find((n) => n.identifier === (DerClass.CONTEXT | 0x20 | 3));
  const extensions = readExtensions(extensionsNode);

  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const san = extensions.get(Oid.subjectAltName);
  if (san) {
    for (const name of derChildren(derExpect(derDecode(san.value), SEQ, "GeneralNames"))) {
      if (name.identifier === (DerClass.CONTEXT | GeneralNameTag.dNSName)) {
        dnsNames.push(new TextDecoder("ascii").decode(name.content));
      } else if (name.identifier === (DerClass.CONTEXT | GeneralNameTag.iPAddress)) {
        ipAddresses.push(ipFromBytes(name.content));
      }
    }
  }
  let isCa = false;
  const basic = extensions.get(Oid.basicConstraints);
  if (basic) {
    const [cA] = derChildren(derExpect(derDecode(basic.value), SEQ, "BasicConstraints"));
    isCa = cA?.identifier === DerTag.BOOLEAN && derReadBoolean(cA);
  }
  const [sigAlgOid] = derChildren(derExpect(sigAlgNode, SEQ, "a signatureAlgorithm"));
  return {
    der,
    tbs: tbsNode!.raw,
    serialNumber: serial.content,
    issuerDer: issuer.raw,
    subjectDer: subject.raw,
    issuerCommonName: commonNameOf(issuer),
    subjectCommonName: commonNameOf(subject),
    notBefore: derReadTime(notBefore),
    notAfter: derReadTime(notAfter),
    subjectPublicKeyInfo: spki.raw,
    subjectPublicKey: derReadBitString(derExpect(spkiKey, DerTag.BIT_STRING, "a subjectPublicKey")).bytes,
    publicKeyAlgorithm: derReadOid(keyAlgOid!),
    publicKeyParameter: keyParam?.identifier === DerTag.OBJECT_IDENTIFIER ? derReadOid(keyParam) : undefined,
    dnsNames,
    ipAddresses,
    isCa,
    signatureAlgorithm: derReadOid(sigAlgOid!),
    signature: derReadBitString(derExpect(sigNode, DerTag.BIT_STRING, "a signatureValue")).bytes,
  };
}
