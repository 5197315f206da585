import { commandByCode, type CommandName, isCommandName } from "./commands.ts";
import { EasRequestError } from "./errors.ts";

/**
 * The request line of an EAS POST, from either query form (MS-ASHTTP 2.2.1.1.1):
 * the plain form `?Cmd=Sync&User=..&DeviceId=..&DeviceType=..` or the base64
 * form (MS-ASHTTP 2.2.1.1.1.1) that Windows Mobile and some clients send.
 */
export interface EasQuery {
  command: CommandName;
  user: string;
  deviceId: string;
  deviceType: string;
  /** Only the base64 form carries these in the query; the plain form uses headers. */
  protocolVersion?: string;
  policyKey?: string;
  locale?: number;
  attachmentName?: string;
  collectionId?: string;
  itemId?: string;
  longId?: string;
  occurrence?: string;
  saveInSent: boolean;
  acceptMultiPart: boolean;
}

/** Base64 command parameter tags (MS-ASHTTP 2.2.1.1.1.1.3). */
const PARAMETER_TAGS = {
  0: "attachmentName",
  1: "collectionId",
  3: "itemId",
  4: "longId",
  6: "occurrence",
  7: "options",
  8: "user",
} as const;

/** Options bit flags (MS-ASHTTP 2.2.1.1.1.1.3). */
const OPTION_SAVE_IN_SENT = 0x01;
const OPTION_ACCEPT_MULTIPART = 0x02;

/** DeviceId: up to 32 alphanumeric characters (MS-ASHTTP 2.2.1.1.1.2.3); some clients use "-" and "_". */
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** DeviceType: free text in practice ("iPhone", "Android", "SAMSUNGSMG991B", "WindowsMail"). */
const DEVICE_TYPE = /^[\x21-\x7e]{1,64}$/;

/** Parses the query string of an EAS POST; throws EasRequestError with a clear message when it is unusable. */
export function parseEasQuery(search: string): EasQuery {
  const raw = search.startsWith("?") ? search.slice(1) : search;
  if (raw === "") throw new EasRequestError("Request has no query string");
  // The plain form always names its command; anything else must be the base64 form.
  if (/(^|&)Cmd=/.test(raw)) return parsePlainQuery(new URLSearchParams(raw));
  return parseBase64Query(raw);
}

function parsePlainQuery(params: URLSearchParams): EasQuery {
  const command = params.get("Cmd") ?? "";
  if (!command) throw new EasRequestError("Query parameter 'Cmd' is missing");
  const query: EasQuery = {
    command: checkCommand(command),
    user: params.get("User") ?? "",
    deviceId: params.get("DeviceId") ?? "",
    deviceType: params.get("DeviceType") ?? "",
    saveInSent: (params.get("SaveInSent") ?? "").toUpperCase() === "T",
    acceptMultiPart: false,
  };
  copyIfPresent(query, "attachmentName", params.get("AttachmentName"));
  copyIfPresent(query, "collectionId", params.get("CollectionId"));
  copyIfPresent(query, "itemId", params.get("ItemId"));
  copyIfPresent(query, "longId", params.get("LongId"));
  copyIfPresent(query, "occurrence", params.get("Occurrence"));
  return checkDevice(query);
}

function parseBase64Query(raw: string): EasQuery {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(decodeURIComponent(raw)), (c) => c.charCodeAt(0));
  } catch {
    throw new EasRequestError("Query string is neither a plain nor a base64 EAS query");
  }
  const reader = new QueryReader(bytes);
  const version = reader.byte("protocol version");
  const code = reader.byte("command code");
  const locale = reader.byte("locale") | (reader.byte("locale") << 8);
  const deviceIdBytes = reader.bytes(reader.byte("device id length"), "device id");
  const policyKeyLength = reader.byte("policy key length");
  let policyKey: string | undefined;
  if (policyKeyLength === 4) {
    const key = reader.bytes(4, "policy key");
    policyKey = String(new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true));
  } else if (policyKeyLength !== 0) {
    throw new EasRequestError(`Base64 query has a policy key of length ${policyKeyLength}, expected 0 or 4`);
  }
  const deviceType = new TextDecoder().decode(reader.bytes(reader.byte("device type length"), "device type"));
  const command = commandByCode(code);
  if (!command) throw new EasHttpNotImplemented(`Command code ${code} is not an EAS command`);
  const query: EasQuery = {
    command,
    user: "",
    // The device id is binary in this form (a GUID on Windows Mobile); hex keeps it printable and stable.
    deviceId: [...deviceIdBytes].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase(),
    deviceType,
    protocolVersion: (version / 10).toFixed(1),
    locale,
    saveInSent: false,
    acceptMultiPart: false,
  };
  if (policyKey !== undefined) query.policyKey = policyKey;
  while (!reader.done) {
    const tag = reader.byte("parameter tag");
    const value = reader.bytes(reader.byte("parameter length"), "parameter value");
    const name = PARAMETER_TAGS[tag as keyof typeof PARAMETER_TAGS];
    if (name === "options") {
      const flags = value[0] ?? 0;
      query.saveInSent = (flags & OPTION_SAVE_IN_SENT) !== 0;
      query.acceptMultiPart = (flags & OPTION_ACCEPT_MULTIPART) !== 0;
    } else if (name === "user") {
      query.user = new TextDecoder().decode(value);
    } else if (name !== undefined) {
      query[name] = new TextDecoder().decode(value);
    }
    // Tags 2 and 5 are reserved and unused (MS-ASHTTP 2.2.1.1.1.1.3): skipped.
  }
  return checkDevice(query);
}

/** Thrown for a command the server does not know: answered with 501 (MS-ASHTTP 3.2.5.1). */
export class EasHttpNotImplemented extends EasRequestError {
  override readonly httpStatus = 501;
  constructor(message: string) {
    super(message);
    this.name = "EasHttpNotImplemented";
  }
}

function checkCommand(command: string): CommandName {
  if (!isCommandName(command)) throw new EasHttpNotImplemented(`Command '${command}' is not supported`);
  return command;
}

function checkDevice(query: EasQuery): EasQuery {
  if (!DEVICE_ID.test(query.deviceId)) {
    throw new EasRequestError(
      query.deviceId
        ? `DeviceId '${query.deviceId.slice(0, 80)}' is not valid`
        : "Query parameter 'DeviceId' is missing",
    );
  }
  if (!DEVICE_TYPE.test(query.deviceType)) {
    throw new EasRequestError(
      query.deviceType
        ? `DeviceType '${query.deviceType.slice(0, 80)}' is not valid`
        : "Query parameter 'DeviceType' is missing",
    );
  }
  return query;
}

function copyIfPresent(
  query: EasQuery,
  key: "attachmentName" | "collectionId" | "itemId" | "longId" | "occurrence",
  value: string | null,
): void {
  if (value !== null && value !== "") query[key] = value;
}

class QueryReader {
  #offset = 0;
  constructor(private readonly input: Uint8Array) {}
  get done(): boolean {
    return this.#offset >= this.input.length;
  }
  byte(what: string): number {
    const value = this.input[this.#offset];
    if (value === undefined) throw new EasRequestError(`Base64 query ends before its ${what}`);
    this.#offset++;
    return value;
  }
  bytes(length: number, what: string): Uint8Array {
    if (this.#offset + length > this.input.length) {
      throw new EasRequestError(`Base64 query ends inside its ${what}`);
    }
    const slice = this.input.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return slice;
  }
}
