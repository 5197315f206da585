import type { Database } from "./database.ts";

/** What a phone reports in Settings DeviceInformation (MS-ASCMD 2.2.3.51); every field optional there. */
export interface DeviceInformation {
  model: string;
  imei: string;
  friendlyName: string;
  os: string;
  osLanguage: string;
  phoneNumber: string;
  userAgent: string;
  enableOutboundSms: boolean;
  mobileOperator: string;
  updated: number;
}

interface Row {
  model: string;
  imei: string;
  friendly_name: string;
  os: string;
  os_language: string;
  phone_number: string;
  user_agent: string;
  enable_outbound_sms: number;
  mobile_operator: string;
  updated: number;
}

/** Device information and sealed recovery passwords, per device row (deleted with the device). */
export class DeviceInformationRepository {
  constructor(private readonly db: Database) {}

  /** Stores what the device reported; fields it left out keep their earlier values. */
  save(device: number, info: Partial<Omit<DeviceInformation, "updated">>, now = Date.now()): void {
    const old = this.get(device);
    const merged = { ...EMPTY, ...old, ...info };
    this.db.run(
      `INSERT INTO device_information (device, model, imei, friendly_name, os, os_language, phone_number,
         user_agent, enable_outbound_sms, mobile_operator, updated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device) DO UPDATE SET model = excluded.model, imei = excluded.imei,
         friendly_name = excluded.friendly_name, os = excluded.os, os_language = excluded.os_language,
         phone_number = excluded.phone_number, user_agent = excluded.user_agent,
         enable_outbound_sms = excluded.enable_outbound_sms, mobile_operator = excluded.mobile_operator,
         updated = excluded.updated`,
      device,
      merged.model,
      merged.imei,
      merged.friendlyName,
      merged.os,
      merged.osLanguage,
      merged.phoneNumber,
      merged.userAgent,
      merged.enableOutboundSms ? 1 : 0,
      merged.mobileOperator,
      now,
    );
  }

  /** What a device reported, if it ever sent DeviceInformation. */
  get(device: number): DeviceInformation | undefined {
    const row = this.db.get<Row>("SELECT * FROM device_information WHERE device = ?", device);
    if (!row) return undefined;
    return {
      model: row.model,
      imei: row.imei,
      friendlyName: row.friendly_name,
      os: row.os,
      osLanguage: row.os_language,
      phoneNumber: row.phone_number,
      userAgent: row.user_agent,
      enableOutboundSms: row.enable_outbound_sms === 1,
      mobileOperator: row.mobile_operator,
      updated: row.updated,
    };
  }

  /** Keeps a device's sealed recovery password (the caller seals it; this never sees the clear text). */
  savePassword(device: number, sealed: string, now = Date.now()): void {
    this.db.run(
      `INSERT INTO device_passwords (device, sealed, updated) VALUES (?, ?, ?)
       ON CONFLICT (device) DO UPDATE SET sealed = excluded.sealed, updated = excluded.updated`,
      device,
      sealed,
      now,
    );
  }

  /** The sealed recovery password of a device. */
  password(device: number): string | undefined {
    return this.db.get<{ sealed: string }>("SELECT sealed FROM device_passwords WHERE device = ?", device)
      ?.sealed;
  }
}

const EMPTY: Omit<DeviceInformation, "updated"> = {
  model: "",
  imei: "",
  friendlyName: "",
  os: "",
  osLanguage: "",
  phoneNumber: "",
  userAgent: "",
  enableOutboundSms: false,
  mobileOperator: "",
};
