/**
 * Certificate files on disk: the self-signed set kept under the data
 * directory and renewed in place, or an admin's own pair named by
 * PUSHBRIDGE_TLS=CERT.pem:KEY.pem.
 *
 * @module
 */
import { checkExpiry, checkKeyMatchesCert, readCertificateInfo } from "./cert_info.ts";
import { canonicalIp } from "./_ip.ts";
import {
  type CertificateAuthority,
  generateCertificateAuthority,
  issueServerCertificate,
  TLS_LIMITS,
} from "./self_signed.ts";

/** Names a server certificate has to cover. */
export interface HostNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** The certificate material the HTTPS listener and the setup page use. */
export interface CertificateSet {
  /** Server certificate then CA certificate. */
  readonly certPem: string;
  readonly keyPem: string;
  readonly caCertPem: string;
  /** True when this call wrote a new server certificate (and maybe a new CA). */
  readonly generated: boolean;
}

/** File names under `${dataDir}/tls/`. */
export const TLS_FILES = {
  cert: "cert.pem",
  key: "key.pem",
  caCert: "ca.pem",
  caKey: "ca-key.pem",
} as const;

/** Private keys are readable by the service user only. */
const KEY_MODE = 0o600;

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes through a temporary file and a rename, so a crash never leaves half a key. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.tmp`;
  await Deno.remove(temporary).catch(() => {});
  await Deno.writeTextFile(temporary, text, { mode });
  await Deno.chmod(temporary, mode); // mode is masked by the umask on creation
  await Deno.rename(temporary, path);
}

/**
 * Expired or expiring certificates are renewed. One that is not yet valid is
 * kept: that means the clock is behind (an appliance without a real-time
 * clock before NTP has synced), and replacing the CA then would make every
 * phone trust it anew for nothing.
 */
function needsRenewal(info: { notBefore: Date; notAfter: Date }, now: Date): boolean {
  const status = checkExpiry(info, now, TLS_LIMITS.renewBeforeDays);
  return status === "expired" || status === "expiring";
}

async function usableCa(certPem: string | undefined, keyPem: string | undefined, now: Date) {
  if (!certPem || !keyPem) return undefined;
  try {
    const info = await readCertificateInfo(certPem);
    if (!info.isCa || needsRenewal(info, now)) return undefined;
    return (await checkKeyMatchesCert(certPem, keyPem)) ? { certPem, keyPem } : undefined;
  } catch {
    return undefined; // an unreadable CA is replaced; phones have to trust the new one
  }
}

/** Whether a certificate's SANs cover every requested name (DNS case-insensitively, IPs in canonical form). */
function covers(info: { dnsNames: string[]; ipAddresses: string[] }, names: HostNames): boolean {
  const dns = new Set(info.dnsNames.map((n) => n.toLowerCase()));
  const ips = new Set(info.ipAddresses);
  return names.dnsNames.every((n) => dns.has(n.toLowerCase())) &&
    names.ipAddresses.every((ip) => ips.has(canonicalIp(ip)));
}

async function usableLeaf(
  certPem: string | undefined,
  keyPem: string | undefined,
  ca: CertificateAuthority,
  names: HostNames,
  now: Date,
): Promise<boolean> {
  if (!certPem || !keyPem) return false;
  try {
    const info = await readCertificateInfo(certPem);
    const caInfo = await readCertificateInfo(ca.certPem);
    return info.issuerCommonName === caInfo.subjectCommonName &&
      certPem.includes(ca.certPem.trim()) &&
      !needsRenewal(info, now) &&
      covers(info, names) &&
      await checkKeyMatchesCert(certPem, keyPem);
  } catch {
    return false;
  }
}

/**
 * Returns the self-signed certificate set kept in `${dataDir}/tls/`, creating
 * the CA on first start and (re)issuing the server certificate, signed by
 * the same CA, when it is missing or unreadable, expires within 30 days, or
 * its SANs do not cover `hostNames`. The CA is replaced only when its files
 * are missing or unreadable or it expires within 30 days. Keys are written
 * with mode 0600.
 */
export async function ensureCertificate(
  dataDir: string,
  hostNames: HostNames,
  now: Date = new Date(),
): Promise<CertificateSet> {
  const dir = `${dataDir}/tls`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (name: string) => `${dir}/${name}`;
  const [certPem, keyPem, caCertPem, caKeyPem] = await Promise.all(
    [TLS_FILES.cert, TLS_FILES.key, TLS_FILES.caCert, TLS_FILES.caKey].map((n) => readIfExists(path(n))),
  );
  let ca = await usableCa(caCertPem, caKeyPem, now);
  if (ca && certPem && keyPem && await usableLeaf(certPem, keyPem, ca, hostNames, now)) {
    return { certPem, keyPem, caCertPem: ca.certPem, generated: false };
  }
  const commonName = hostNames.dnsNames.find((n) => n !== "localhost") ?? hostNames.dnsNames[0] ??
    hostNames.ipAddresses[0] ?? "pushbridge";
  if (!ca) {
    ca = await generateCertificateAuthority(`Pushbridge local CA (${commonName})`, now);
    await writeAtomically(path(TLS_FILES.caKey), ca.keyPem, KEY_MODE);
    await writeAtomically(path(TLS_FILES.caCert), ca.certPem, 0o644);
  }
  const leaf = await issueServerCertificate(ca, {
    commonName,
    dnsNames: hostNames.dnsNames,
    ipAddresses: hostNames.ipAddresses,
    now,
  });
  const chain = leaf.certPem + ca.certPem;
  await writeAtomically(path(TLS_FILES.key), leaf.keyPem, KEY_MODE);
  await writeAtomically(path(TLS_FILES.cert), chain, 0o644);
  return { certPem: chain, keyPem: leaf.keyPem, caCertPem: ca.certPem, generated: true };
}

/**
 * Loads an admin-supplied pair (PUSHBRIDGE_TLS=CERT.pem:KEY.pem) and checks
 * that it parses and that the key belongs to the certificate.
 */
export async function loadCertificatePair(
  certPath: string,
  keyPath: string,
): Promise<{ certPem: string; keyPem: string }> {
  const read = async (path: string, what: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(`TLS ${what} file '${path}' cannot be read: ${(error as Error).message}`);
    }
  };
  const certPem = await read(certPath, "certificate");
  const keyPem = await read(keyPath, "key");
  let matches: boolean;
  try {
    await readCertificateInfo(certPem);
  } catch (error) {
    throw new Error(
      `TLS certificate file '${certPath}' is not a PEM certificate: ${(error as Error).message}`,
    );
  }
  try {
    matches = await checkKeyMatchesCert(certPem, keyPem);
  } catch (error) {
    throw new Error(`TLS key file '${keyPath}' cannot be used: ${(error as Error).message}`);
  }
  if (!matches) {
    throw new Error(`TLS key file '${keyPath}' does not belong to the certificate in '${certPath}'`);
  }
  return { certPem, keyPem };
}

/**
 * The names this machine answers to: its host name (and `<name>.local` for
 * mDNS when it has no dot), "localhost", and every non-loopback interface
 * address plus 127.0.0.1 and ::1. IPv6 link-local addresses are left out:
 * they need a zone id that no URL on a phone carries.
 */
export function localHostNames(): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = new Set<string>();
  try {
    const host = Deno.hostname().toLowerCase();
    if (/^[a-z0-9_][a-z0-9_.-]*$/.test(host)) {
      dnsNames.add(host);
      if (!host.includes(".")) dnsNames.add(`${host}.local`);
    }
  } catch {
    // No sys permission or no host name: the addresses still work.
  }
  dnsNames.add("localhost");
  const ipAddresses = new Set<string>();
  try {
    for (const nic of Deno.networkInterfaces()) {
      const address = canonicalIp(nic.address);
      if (/^127\.|^::1$|^fe[89ab][0-9a-f]:/.test(address)) continue;
      ipAddresses.add(address);
    }
  } catch {
    // Without permission only the loopback names remain.
  }
  ipAddresses.add("127.0.0.1");
  ipAddresses.add("::1");
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}
