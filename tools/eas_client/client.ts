import { decode, encode, toXml, type WbxmlElement } from "../../src/wbxml/mod.ts";

/** How the client reaches the server and who it claims to be. */
export interface EasClientOptions {
  /** Server base URL, e.g. https://127.0.0.1:8443 */
  url: string;
  user: string;
  password: string;
  deviceId: string;
  deviceType: string;
  protocolVersion: string;
  /** PEM CA certificates to trust (the box's self-signed CA). */
  caCerts?: string[];
  userAgent?: string;
  policyKey?: string;
  /** Called with decoded request and response XML when tracing. */
  trace?: (direction: "request" | "response", text: string) => void;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/** One answer of the server. */
export interface EasReply {
  status: number;
  headers: Headers;
  /** Raw response bytes. */
  raw: Uint8Array;
  /** Decoded WBXML when the response is WBXML and non-empty. */
  body?: WbxmlElement;
}

/**
 * A real EAS client over HTTPS, the way phones talk: plain query form, Basic
 * auth, MS-ASProtocolVersion and X-MS-PolicyKey headers, WBXML bodies.
 */
export class EasClient {
  readonly options: EasClientOptions;
  readonly #http: Deno.HttpClient;

  constructor(options: EasClientOptions) {
    this.options = options;
    this.#http = Deno.createHttpClient(options.caCerts ? { caCerts: options.caCerts } : {});
  }

  /** Sends OPTIONS and returns the advertised versions and commands. */
  async probe(): Promise<{ status: number; versions: string[]; commands: string[]; headers: Headers }> {
    const response = await this.#fetch("OPTIONS", this.#endpoint(), undefined, {});
    await response.body?.cancel();
    return {
      status: response.status,
      versions: (response.headers.get("MS-ASProtocolVersions") ?? "").split(",").filter(Boolean),
      commands: (response.headers.get("MS-ASProtocolCommands") ?? "").split(",").filter(Boolean),
      headers: response.headers,
    };
  }

  /** Sends a command with a WBXML body (or none) and decodes the answer. */
  async command(
    command: string,
    body?: WbxmlElement,
    params: Record<string, string> = {},
    headers: Record<string, string> = {},
  ): Promise<EasReply> {
    if (body && this.options.trace) this.options.trace("request", toXml(body));
    const bytes = body ? encode(body) : undefined;
    return await this.send(command, bytes, params, {
      ...(bytes ? { "Content-Type": "application/vnd.ms-sync.wbxml" } : {}),
      ...headers,
    });
  }

  /** Sends raw bytes (e.g. produced by libwbxml, or MIME for SendMail in 12.1). */
  async send(
    command: string,
    bytes: Uint8Array | undefined,
    params: Record<string, string> = {},
    headers: Record<string, string> = {},
  ): Promise<EasReply> {
    const url = this.#endpoint({ Cmd: command, ...params });
    const response = await this.#fetch("POST", url, bytes, headers);
    const raw = new Uint8Array(await response.arrayBuffer());
    const reply: EasReply = { status: response.status, headers: response.headers, raw };
    const type = response.headers.get("Content-Type") ?? "";
    if (raw.length > 0 && type.startsWith("application/vnd.ms-sync.wbxml")) {
      reply.body = decode(raw);
      if (this.options.trace) this.options.trace("response", toXml(reply.body));
    } else if (this.options.trace) {
      this.options.trace("response", `HTTP ${response.status} ${type} (${raw.length} bytes)`);
    }
    return reply;
  }

  /** Closes the HTTP client's connections. */
  close(): void {
    this.#http.close();
  }

  #endpoint(params?: Record<string, string>): string {
    const url = new URL("/Microsoft-Server-ActiveSync", this.options.url);
    if (params) {
      const search = new URLSearchParams({
        ...params,
        User: this.options.user,
        DeviceId: this.options.deviceId,
        DeviceType: this.options.deviceType,
      });
      url.search = search.toString();
    }
    return url.toString();
  }

  async #fetch(
    method: string,
    url: string,
    body: Uint8Array | undefined,
    headers: Record<string, string>,
  ): Promise<Response> {
    const all: Record<string, string> = {
      "Authorization": "Basic " + btoa(
        String.fromCharCode(...new TextEncoder().encode(`${this.options.user}:${this.options.password}`)),
      ),
      "MS-ASProtocolVersion": this.options.protocolVersion,
      "User-Agent": this.options.userAgent ?? "Pushbridge-EasClient/1.0",
      ...(this.options.policyKey ? { "X-MS-PolicyKey": this.options.policyKey } : {}),
      ...headers,
    };
    const init: RequestInit & { client: Deno.HttpClient } = { method, headers: all, client: this.#http };
    if (body) init.body = body as BodyInit;
    if (this.options.timeoutMs) init.signal = AbortSignal.timeout(this.options.timeoutMs);
    return await fetch(url, init);
  }
}
