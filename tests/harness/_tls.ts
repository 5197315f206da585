/**
 * Throwaway certificate authority and a server certificate for 127.0.0.1 made with the openssl
 * CLI, shared by the harness servers that offer TLS. A separate CA is needed because rustls (Deno's
 * TLS) rejects a self-signed certificate that is both the trust anchor and the server certificate
 * ("CaUsedAsEndEntity").
 *
 * @module
 */

import { runChecked } from "./_process.ts";

/** Paths of the generated PEM files and the CA certificate text (for clients' caCerts). */
export interface HarnessCert {
  caFile: string;
  certFile: string;
  keyFile: string;
  caPem: string;
}

/** EC P-256 keys: fast to generate, accepted by Dovecot and rustls. */
const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Writes ca.pem, cert.pem and key.pem into `dir`. */
export async function generateCert(dir: string): Promise<HarnessCert> {
  const caFile = `${dir}/ca.pem`;
  const caKey = `${dir}/ca-key.pem`;
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const csrFile = `${dir}/cert.csr`;
  const extFile = `${dir}/cert.ext`;
  await runChecked("openssl", [
    "req",
    "-x509",
    ...KEY_ARGS,
    "-keyout",
    caKey,
    "-out",
    caFile,
    "-days",
    "7",
    "-subj",
    "/CN=Pushbridge harness CA",
  ]);
  await runChecked("openssl", [
    "req",
    "-new",
    ...KEY_ARGS,
    "-keyout",
    keyFile,
    "-out",
    csrFile,
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await Deno.writeTextFile(
    extFile,
    "basicConstraints = critical, CA:FALSE\nkeyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n" +
      "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
  );
  await runChecked("openssl", [
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    caFile,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "7",
    "-extfile",
    extFile,
  ]);
  // Dovecot reads the key as root before dropping privileges; keep it private anyway.
  await Deno.chmod(keyFile, 0o600);
  return { caFile, certFile, keyFile, caPem: await Deno.readTextFile(caFile) };
}
