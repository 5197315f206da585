/**
 * The policy model: every MS-ASPROV 2.2.2 policy element with its value range,
 * the protocol version that introduced it, and its neutral default, plus the
 * box's own settings that steer enforcement but are never sent to phones.
 * Pure: parsing and range checks only.
 */

/** How a policy value is written and checked. */
export type PolicyValueKind =
  /** "0" or "1". */
  | { type: "boolean" }
  /** An integer in [min, max]; `empty` allows "" (no limit, MS-ASPROV "unsignedIntOrEmpty"). */
  | { type: "integer"; min: number; max: number; empty?: boolean }
  /** One of the listed integers (enumerations such as age filters). */
  | { type: "enum"; values: readonly number[] }
  /** A list of strings (application names or hashes); comma separated on the CLI. */
  | { type: "list"; item: "name" | "hash" };

/** One policy element. */
export interface PolicyElementSpec {
  kind: PolicyValueKind;
  /** The neutral value: what a phone gets when no scope sets the element. */
  neutral: PolicyValue;
  /** First protocol version that carries the element in EASProvisionDoc (12.0 or 12.1). */
  minVersion: "12.0" | "12.1";
  /** One line for `policy show` and the setup page. */
  description: string;
}

/** A policy value: a number, "" (empty, no limit) or a list. */
export type PolicyValue = number | "" | readonly string[];

const bool = (neutral: 0 | 1, minVersion: "12.0" | "12.1", description: string): PolicyElementSpec => ({
  kind: { type: "boolean" },
  neutral,
  minVersion,
  description,
});

/**
 * The elements of EASProvisionDoc in the order of the schema's xs:sequence
 * (Provision.xsd; MS-ASPROV 2.2.2 names each element and its values).
 * Ranges follow MS-ASPROV and Exchange's documented limits.
 */
export const POLICY_ELEMENTS = {
  DevicePasswordEnabled: bool(0, "12.0", "A device password is required"),
  AlphanumericDevicePasswordRequired: bool(0, "12.0", "The password must contain letters and digits"),
  PasswordRecoveryEnabled: bool(0, "12.0", "The device may store a recovery password on the server"),
  RequireStorageCardEncryption: bool(0, "12.0", "Storage cards must be encrypted"),
  AttachmentsEnabled: bool(1, "12.0", "Attachments may be downloaded"),
  MinDevicePasswordLength: {
    kind: { type: "integer", min: 1, max: 16, empty: true },
    neutral: "",
    minVersion: "12.0",
    description: "Minimum password length, 1-16, empty for none",
  },
  MaxInactivityTimeDeviceLock: {
    kind: { type: "integer", min: 0, max: 9999, empty: true },
    neutral: "",
    minVersion: "12.0",
    description: "Seconds of inactivity before the device locks, 9999 or empty for none",
  },
  MaxDevicePasswordFailedAttempts: {
    kind: { type: "integer", min: 4, max: 16, empty: true },
    neutral: "",
    minVersion: "12.0",
    description: "Failed password attempts before the device wipes itself, 4-16, empty for none",
  },
  MaxAttachmentSize: {
    kind: { type: "integer", min: 0, max: 4294967295, empty: true },
    neutral: "",
    minVersion: "12.0",
    description: "Largest attachment in bytes that is downloaded automatically, empty for no limit",
  },
  AllowSimpleDevicePassword: bool(1, "12.0", "Simple passwords such as 1111 or 1234 are allowed"),
  DevicePasswordExpiration: {
    kind: { type: "integer", min: 0, max: 730, empty: true },
    neutral: "",
    minVersion: "12.0",
    description: "Days until the password expires, 0 or empty for never",
  },
  DevicePasswordHistory: {
    kind: { type: "integer", min: 0, max: 50 },
    neutral: 0,
    minVersion: "12.0",
    description: "Earlier passwords that may not be reused, 0-50",
  },
  AllowStorageCard: bool(1, "12.1", "Storage cards may be used"),
  AllowCamera: bool(1, "12.1", "The camera may be used"),
  RequireDeviceEncryption: bool(0, "12.1", "The device must be encrypted"),
  AllowUnsignedApplications: bool(1, "12.1", "Unsigned applications may run"),
  AllowUnsignedInstallationPackages: bool(1, "12.1", "Unsigned installation packages may run"),
  MinDevicePasswordComplexCharacters: {
    kind: { type: "integer", min: 1, max: 4 },
    neutral: 1,
    minVersion: "12.1",
    description: "Character groups (lower, upper, digits, symbols) the password must mix, 1-4",
  },
  AllowWiFi: bool(1, "12.1", "Wi-Fi may be used"),
  AllowTextMessaging: bool(1, "12.1", "SMS may be used"),
  AllowPOPIMAPEmail: bool(1, "12.1", "Other POP/IMAP accounts may be used"),
  AllowBluetooth: {
    kind: { type: "enum", values: [0, 1, 2] },
    neutral: 2,
    minVersion: "12.1",
    description: "Bluetooth: 0 off, 1 hands-free only, 2 allowed",
  },
  AllowIrDA: bool(1, "12.1", "Infrared may be used"),
  RequireManualSyncWhenRoaming: bool(0, "12.1", "Sync only manually while roaming"),
  AllowDesktopSync: bool(1, "12.1", "Desktop sync may be used"),
  MaxCalendarAgeFilter: {
    kind: { type: "enum", values: [0, 4, 5, 6, 7] },
    neutral: 0,
    minVersion: "12.1",
    description:
      "Oldest calendar items synced: 0 all, 4 two weeks, 5 one month, 6 three months, 7 six months",
  },
  AllowHTMLEmail: bool(1, "12.1", "HTML mail may be shown"),
  MaxEmailAgeFilter: {
    kind: { type: "enum", values: [0, 1, 2, 3, 4, 5] },
    neutral: 0,
    minVersion: "12.1",
    description: "Oldest mail synced: 0 all, 1 one day, 2 three days, 3 one week, 4 two weeks, 5 one month",
  },
  MaxEmailBodyTruncationSize: {
    kind: { type: "integer", min: -1, max: 2147483647 },
    neutral: -1,
    minVersion: "12.1",
    description: "Plain-text body truncation in KB: -1 none, 0 headers only",
  },
  MaxEmailHTMLBodyTruncationSize: {
    kind: { type: "integer", min: -1, max: 2147483647 },
    neutral: -1,
    minVersion: "12.1",
    description: "HTML body truncation in KB: -1 none, 0 headers only",
  },
  RequireSignedSMIMEMessages: bool(0, "12.1", "Sent mail must be S/MIME signed"),
  RequireEncryptedSMIMEMessages: bool(0, "12.1", "Sent mail must be S/MIME encrypted"),
  RequireSignedSMIMEAlgorithm: {
    kind: { type: "enum", values: [0, 1] },
    neutral: 0,
    minVersion: "12.1",
    description: "S/MIME signing algorithm: 0 SHA1, 1 MD5",
  },
  RequireEncryptionSMIMEAlgorithm: {
    kind: { type: "enum", values: [0, 1, 2, 3, 4] },
    neutral: 0,
    minVersion: "12.1",
    description: "S/MIME encryption: 0 TripleDES, 1 DES, 2 RC2 128, 3 RC2 64, 4 RC2 40 bit",
  },
  AllowSMIMEEncryptionAlgorithmNegotiation: {
    kind: { type: "enum", values: [0, 1, 2] },
    neutral: 2,
    minVersion: "12.1",
    description: "S/MIME algorithm negotiation: 0 none, 1 strong only, 2 any",
  },
  AllowSMIMESoftCerts: bool(1, "12.1", "S/MIME soft certificates may be used"),
  AllowBrowser: bool(1, "12.1", "The browser may be used"),
  AllowConsumerEmail: bool(1, "12.1", "Consumer mail accounts may be used"),
  AllowRemoteDesktop: bool(1, "12.1", "Remote desktop may be used"),
  AllowInternetSharing: bool(1, "12.1", "Internet sharing (tethering) may be used"),
  UnapprovedInROMApplicationList: {
    kind: { type: "list", item: "name" },
    neutral: [],
    minVersion: "12.1",
    description: "Built-in applications that may not run, comma separated",
  },
  ApprovedApplicationList: {
    kind: { type: "list", item: "hash" },
    neutral: [],
    minVersion: "12.1",
    description: "SHA-1 hashes of the only applications that may run, comma separated",
  },
} as const satisfies Record<string, PolicyElementSpec>;

/** Name of an element sent to phones. */
export type PolicyElementName = keyof typeof POLICY_ELEMENTS;

/**
 * Settings of the box that steer enforcement and are never sent to phones
 * (Exchange's mobile device mailbox policy has the same ones).
 */
export const BOX_POLICY_SETTINGS = {
  AllowNonProvisionableDevices: {
    kind: { type: "boolean" },
    neutral: 1,
    minVersion: "12.0",
    description:
      "Devices that send no policy key or cannot fully apply the policy may sync (Exchange default: allowed)",
  },
  DevicePolicyRefreshInterval: {
    kind: { type: "integer", min: 0, max: 8760 },
    neutral: 0,
    minVersion: "12.0",
    description: "Hours after which phones are asked to provision again, 0 for never",
  },
  PolicyExempt: {
    kind: { type: "boolean" },
    neutral: 0,
    minVersion: "12.0",
    description: "The user or device is exempt from provisioning (wipes and access rules still apply)",
  },
} as const satisfies Record<string, PolicyElementSpec>;

/** Name of a box setting kept alongside the policy. */
export type BoxPolicySettingName = keyof typeof BOX_POLICY_SETTINGS;

/** Any key `policy set` accepts. */
export type PolicyKeyName = PolicyElementName | BoxPolicySettingName;

/** Every key with its spec, elements first (in schema order). */
export const ALL_POLICY_KEYS: Readonly<Record<PolicyKeyName, PolicyElementSpec>> = {
  ...POLICY_ELEMENTS,
  ...BOX_POLICY_SETTINGS,
};

/** A key or value that is not a valid policy setting. */
export class PolicyValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyValueError";
  }
}

/** Whether a string names a policy key. */
export function isPolicyKey(key: string): key is PolicyKeyName {
  return Object.hasOwn(ALL_POLICY_KEYS, key);
}

/** Whether a key is sent to phones (not a box setting). */
export function isPolicyElement(key: string): key is PolicyElementName {
  return Object.hasOwn(POLICY_ELEMENTS, key);
}

const HASH = /^[0-9A-Fa-f]{40}$/;
/** Application names: printable, no comma (the CLI's separator), at most 256 characters. */
function isAppName(name: string): boolean {
  return name.length <= 256 && !name.includes(",") && [...name].every((c) => c.charCodeAt(0) >= 0x20);
}
const LIST_MAX = 500;

/**
 * Parses the text form of a value (as typed on the CLI or the setup page)
 * and checks its range; throws PolicyValueError naming key and value.
 */
export function parsePolicyValue(key: string, text: string): PolicyValue {
  if (!isPolicyKey(key)) throw new PolicyValueError(`Unknown policy setting '${key}'`);
  const kind: PolicyValueKind = ALL_POLICY_KEYS[key].kind;
  const raw = text.trim();
  if (kind.type === "list") {
    const items = raw === "" ? [] : raw.split(",").map((s) => s.trim()).filter(Boolean);
    if (items.length > LIST_MAX) throw new PolicyValueError(`${key} holds at most ${LIST_MAX} entries`);
    for (const item of items) {
      if (kind.item === "hash" ? !HASH.test(item) : !isAppName(item)) {
        throw new PolicyValueError(
          kind.item === "hash"
            ? `${key}: '${item}' is not a SHA-1 hash (40 hex digits)`
            : `${key}: '${item}' is not an application name`,
        );
      }
    }
    return [...new Set(kind.item === "hash" ? items.map((i) => i.toUpperCase()) : items)];
  }
  if (raw === "") {
    if (kind.type === "integer" && kind.empty) return "";
    throw new PolicyValueError(`${key} needs a value`);
  }
  if (!/^-?\d{1,10}$/.test(raw)) throw new PolicyValueError(`${key}: '${text}' is not a whole number`);
  const value = Number(raw);
  switch (kind.type) {
    case "boolean":
      if (value !== 0 && value !== 1) throw new PolicyValueError(`${key}: '${text}' must be 0 or 1`);
      return value;
    case "enum":
      if (!kind.values.includes(value)) {
        throw new PolicyValueError(`${key}: '${text}' must be one of ${kind.values.join(", ")}`);
      }
      return value;
    case "integer":
      if (value < kind.min || value > kind.max) {
        throw new PolicyValueError(
          `${key}: '${text}' is out of range ${kind.min}-${kind.max}${kind.empty ? " (or empty)" : ""}`,
        );
      }
      return value;
  }
}

/** The text form of a value (inverse of parsePolicyValue). */
export function formatPolicyValue(value: PolicyValue): string {
  return typeof value === "object" ? value.join(",") : String(value);
}
