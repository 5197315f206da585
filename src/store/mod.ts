import { AdminCredentialRepository } from "./admin_credentials.ts";
import { AuditRepository } from "./audit.ts";
import { Database } from "./database.ts";
import { DavStateRepository } from "./dav_state.ts";
import { DeviceRepository } from "./devices.ts";
import { DeviceInformationRepository } from "./device_information.ts";
import { DeviceManagementRepository } from "./device_management.ts";
import { PolicyRepository } from "./policies.ts";
import { FolderRepository } from "./folders.ts";
import { SentMailRepository } from "./sent_mail.ts";
import { SettingsRepository } from "./settings_repository.ts";
import { SyncStateRepository } from "./sync_state.ts";
import { TraceRepository } from "./traces.ts";

export * from "./admin_credentials.ts";
export * from "./audit.ts";
export * from "./database.ts";
export * from "./dav_state.ts";
export * from "./devices.ts";
export * from "./device_information.ts";
export * from "./device_management.ts";
export * from "./policies.ts";
export * from "./folders.ts";
export * from "./sent_mail.ts";
export * from "./settings_repository.ts";
export * from "./sync_state.ts";
export * from "./traces.ts";

/** The box's state: one database and its repositories. The only module that touches SQL. */
export class Store {
  readonly devices: DeviceRepository;
  readonly folders: FolderRepository;
  readonly settings: SettingsRepository;
  readonly audit: AuditRepository;
  readonly syncState: SyncStateRepository;
  readonly sentMail: SentMailRepository;
  readonly deviceInformation: DeviceInformationRepository;
  readonly davState: DavStateRepository;
  readonly adminCredentials: AdminCredentialRepository;
  readonly traces: TraceRepository;
  readonly policies: PolicyRepository;
  readonly deviceManagement: DeviceManagementRepository;

  constructor(readonly db: Database) {
    this.devices = new DeviceRepository(db);
    this.folders = new FolderRepository(db);
    this.settings = new SettingsRepository(db);
    this.audit = new AuditRepository(db);
    this.syncState = new SyncStateRepository(db);
    this.sentMail = new SentMailRepository(db);
    this.deviceInformation = new DeviceInformationRepository(db);
    this.davState = new DavStateRepository(db);
    this.adminCredentials = new AdminCredentialRepository(db);
    this.traces = new TraceRepository(db);
    this.policies = new PolicyRepository(db);
    this.deviceManagement = new DeviceManagementRepository(db);
  }

  /** Opens the store at a file path (":memory:" for unit tests). */
  static open(path: string): Store {
    return new Store(Database.open(path));
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}
