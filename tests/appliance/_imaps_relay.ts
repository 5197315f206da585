/**
 * A TLS relay in front of the harness's IMAPS port for the image boot test
 * (see {@link startImapsRelay}).
 *
 * @module
 */

/** Runs a host command; its stdout, or an error with its stderr. */
async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A running relay: its port on 127.0.0.1 and the PEM CA that signed its certificate. */
export interface ImapsRelay {
  port: number;
  caPem: string;
  close(): void;
}

/**
 * The harness's certificate names only 127.0.0.1 and localhost, but the VM
 * reaches the host as 10.0.2.2, so an honest TLS check fails ("certificate
 * not valid for name 10.0.2.2", the 503 of earlier runs). This relay gives the
 * VM what an office mailstore gives a box: implicit TLS under a certificate
 * for the address it dials (10.0.2.2, and 127.0.0.1 for a host-side check),
 * signed by a CA the installer hands over. It
 * forwards each connection to the harness's IMAPS port over verified TLS.
 */
export async function startImapsRelay(
  work: string,
  upstreamPort: number,
  upstreamCa: string,
): Promise<ImapsRelay> {
  const openssl = (...args: string[]) => run("openssl", args);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    `${work}/relay-ca.key`,
    "-out",
    `${work}/relay-ca.pem`,
    "-days",
    "2",
    "-subj",
    "/CN=Image test mailstore CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  await openssl(
    "req",
    ...ec,
    "-keyout",
    `${work}/relay.key`,
    "-out",
    `${work}/relay.csr`,
    "-subj",
    "/CN=10.0.2.2",
  );
  await Deno.writeTextFile(
    `${work}/relay.ext`,
    "subjectAltName=IP:10.0.2.2,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    `${work}/relay.csr`,
    "-CA",
    `${work}/relay-ca.pem`,
    "-CAkey",
    `${work}/relay-ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${work}/relay.ext`,
    "-out",
    `${work}/relay.pem`,
  );
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(`${work}/relay.pem`),
    key: await Deno.readTextFile(`${work}/relay.key`),
  });
  const connections = new Set<Deno.Conn>();
  (async () => {
    for await (const inbound of listener) {
      connections.add(inbound);
      Deno.connectTls({ hostname: "127.0.0.1", port: upstreamPort, caCerts: [upstreamCa] }).then(
        (outbound) => {
          connections.add(outbound);
          const close = () =>
            [inbound, outbound].forEach((c) => {
              try {
                c.close();
              } catch { /* closed */ }
            });
          Promise.allSettled([
            inbound.readable.pipeTo(outbound.writable),
            outbound.readable.pipeTo(inbound.writable),
          ]).finally(close);
        },
        () => inbound.close(),
      );
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    caPem: await Deno.readTextFile(`${work}/relay-ca.pem`),
    close() {
      listener.close();
      for (const c of connections) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}
