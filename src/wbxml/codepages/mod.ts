/**
 * The 26 code pages of MS-ASWBXML 2.1.2.1 (protocol 16.1) and the lookup
 * tables the decoder, encoder and XML layer share. Each page lives in its own
 * file as the spec prints it; this file only indexes them.
 */
import { AIR_SYNC } from "./air_sync.ts";
import { CONTACTS } from "./contacts.ts";
import { EMAIL } from "./email.ts";
import { AIR_NOTIFY } from "./air_notify.ts";
import { CALENDAR } from "./calendar.ts";
import { MOVE } from "./move.ts";
import { GET_ITEM_ESTIMATE } from "./get_item_estimate.ts";
import { FOLDER_HIERARCHY } from "./folder_hierarchy.ts";
import { MEETING_RESPONSE } from "./meeting_response.ts";
import { TASKS } from "./tasks.ts";
import { RESOLVE_RECIPIENTS } from "./resolve_recipients.ts";
import { VALIDATE_CERT } from "./validate_cert.ts";
import { CONTACTS2 } from "./contacts2.ts";
import { PING } from "./ping.ts";
import { PROVISION } from "./provision.ts";
import { SEARCH } from "./search.ts";
import { GAL } from "./gal.ts";
import { AIR_SYNC_BASE } from "./air_sync_base.ts";
import { SETTINGS } from "./settings.ts";
import { DOCUMENT_LIBRARY } from "./document_library.ts";
import { ITEM_OPERATIONS } from "./item_operations.ts";
import { COMPOSE_MAIL } from "./compose_mail.ts";
import { EMAIL2 } from "./email2.ts";
import { NOTES } from "./notes.ts";
import { RIGHTS_MANAGEMENT } from "./rights_management.ts";
import { FIND } from "./find.ts";

/** One code page: its number, its namespace name and tag name to token. */
export interface CodePage {
  readonly page: number;
  readonly namespace: string;
  readonly tokens: Readonly<Record<string, number>>;
}

/** All code pages in page order (MS-ASWBXML 2.1.2.1). */
export const CODE_PAGES: readonly CodePage[] = [
  AIR_SYNC,
  CONTACTS,
  EMAIL,
  AIR_NOTIFY,
  CALENDAR,
  MOVE,
  GET_ITEM_ESTIMATE,
  FOLDER_HIERARCHY,
  MEETING_RESPONSE,
  TASKS,
  RESOLVE_RECIPIENTS,
  VALIDATE_CERT,
  CONTACTS2,
  PING,
  PROVISION,
  SEARCH,
  GAL,
  AIR_SYNC_BASE,
  SETTINGS,
  DOCUMENT_LIBRARY,
  ITEM_OPERATIONS,
  COMPOSE_MAIL,
  EMAIL2,
  NOTES,
  RIGHTS_MANAGEMENT,
  FIND,
];

/** Page number by namespace name ("AirSync" is 0). */
export const PAGE_BY_NAMESPACE: ReadonlyMap<string, number> = new Map(
  CODE_PAGES.map((p) => [p.namespace, p.page]),
);

/** Tag names by page and token: `TAG_NAMES[page][token]`, undefined where the spec defines no tag. */
export const TAG_NAMES: readonly (readonly (string | undefined)[])[] = CODE_PAGES.map((p) => {
  const names: (string | undefined)[] = new Array(64).fill(undefined);
  for (const [name, token] of Object.entries(p.tokens)) names[token] = name;
  return names;
});

/** `"ns:name"` to `page << 8 | token`, the encoder's one lookup per element. */
export const TAG_CODES: ReadonlyMap<string, number> = new Map(
  CODE_PAGES.flatMap((p) =>
    Object.entries(p.tokens).map(([name, token]) => [`${p.namespace}:${name}`, p.page << 8 | token])
  ),
);

/**
 * libwbxml 0.11.8 (Debian's xml2wbxml/wbxml2xml) spells some tags differently
 * from MS-ASWBXML; same tokens. [namespace, libwbxml name, spec name]. Used
 * to read XML written in libwbxml names and to compare with its output (see
 * /work/shared/eas-xsd/README.md). libwbxml also calls the GAL namespace "Gal".
 */
export const LIBWBXML_NAMES: readonly (readonly [string, string, string])[] = [
  ["Contacts", "AssistantTelephoneNumber", "AssistantPhoneNumber"],
  ["Contacts", "BusinessCity", "BusinessAddressCity"],
  ["Contacts", "BusinessCountry", "BusinessAddressCountry"],
  ["Contacts", "BusinessPostalCode", "BusinessAddressPostalCode"],
  ["Contacts", "BusinessState", "BusinessAddressState"],
  ["Contacts", "BusinessStreet", "BusinessAddressStreet"],
  ["Contacts", "HomeCity", "HomeAddressCity"],
  ["Contacts", "HomeCountry", "HomeAddressCountry"],
  ["Contacts", "HomePostalCode", "HomeAddressPostalCode"],
  ["Contacts", "HomeState", "HomeAddressState"],
  ["Contacts", "HomeStreet", "HomeAddressStreet"],
  ["Contacts", "OtherCity", "OtherAddressCity"],
  ["Contacts", "OtherCountry", "OtherAddressCountry"],
  ["Contacts", "OtherPostalCode", "OtherAddressPostalCode"],
  ["Contacts", "OtherState", "OtherAddressState"],
  ["Contacts", "OtherStreet", "OtherAddressStreet"],
  ["Email", "AttOId", "Att0Id"],
  ["Email", "DTStamp", "DtStamp"],
  ["Email", "Recurrence_Type", "Type"],
  ["Email", "Recurrence_Until", "Until"],
  ["Email", "Recurrence_Occurrences", "Occurrences"],
  ["Email", "Recurrence_Interval", "Interval"],
  ["Email", "Recurrence_DayOfWeek", "DayOfWeek"],
  ["Email", "Recurrence_DayOfMonth", "DayOfMonth"],
  ["Email", "Recurrence_WeekOfMonth", "WeekOfMonth"],
  ["Email", "Recurrence_MonthOfYear", "MonthOfYear"],
  ["Email", "FlagStatus", "Status"],
  ["Calendar", "TimeZone", "Timezone"],
  ["Calendar", "Attendee_Email", "Email"],
  ["Calendar", "Attendee_Name", "Name"],
  ["Calendar", "DTStamp", "DtStamp"],
  ["Calendar", "Exception_Deleted", "Deleted"],
  ["Calendar", "Exception_StartTime", "ExceptionStartTime"],
  ["Calendar", "Organizer_Email", "OrganizerEmail"],
  ["Calendar", "Organizer_Name", "OrganizerName"],
  ["Calendar", "Recurrence_Type", "Type"],
  ["Calendar", "Recurrence_Until", "Until"],
  ["Calendar", "Recurrence_Occurrences", "Occurrences"],
  ["Calendar", "Recurrence_Interval", "Interval"],
  ["Calendar", "Recurrence_DayOfWeek", "DayOfWeek"],
  ["Calendar", "Recurrence_DayOfMonth", "DayOfMonth"],
  ["Calendar", "Recurrence_WeekOfMonth", "WeekOfMonth"],
  ["Calendar", "Recurrence_MonthOfYear", "MonthOfYear"],
  ["Calendar", "Attendee_Status", "AttendeeStatus"],
  ["Calendar", "Attendee_Type", "AttendeeType"],
  ["Tasks", "UTCDueDate", "UtcDueDate"],
  ["Tasks", "Recurrence_Type", "Type"],
  ["Tasks", "Recurrence_Start", "Start"],
  ["Tasks", "Recurrence_Until", "Until"],
  ["Tasks", "Recurrence_Occurrences", "Occurrences"],
  ["Tasks", "Recurrence_Interval", "Interval"],
  ["Tasks", "Recurrence_DayOfMonth", "DayOfMonth"],
  ["Tasks", "Recurrence_DayOfWeek", "DayOfWeek"],
  ["Tasks", "Recurrence_WeekOfMonth", "WeekOfMonth"],
  ["Tasks", "Recurrence_MonthOfYear", "MonthOfYear"],
  ["Tasks", "Recurrence_Regenerate", "Regenerate"],
  ["Tasks", "Recurrence_DeadOccur", "DeadOccur"],
  ["Tasks", "UTCStartDate", "UtcStartDate"],
  ["ValidateCert", "CheckCRL", "CheckCrl"],
  ["Provision", "DeviceEncryptionEnabled", "RequireStorageCardEncryption"],
  ["Settings", "SmtpAddress", "SMTPAddress"],
  ["Settings", "ihsManagementInformation", "RightsManagementInformation"],
  ["ComposeMail", "MIME", "Mime"],
  ["RightsManagement", "RMOwner", "Owner"],
  ["RightsManagement", "RemoveRightsManagementDistribution", "RemoveRightsManagementProtection"],
];

/** libwbxml's namespace spellings that differ from the spec's. */
export const LIBWBXML_NAMESPACES: ReadonlyMap<string, string> = new Map([["Gal", "GAL"]]);

/**
 * Elements whose content is binary and travels as OPAQUE; in XML their content
 * is base64, as libwbxml's wbxml2xml writes it and xml2wbxml reads it (MS-ASCMD
 * 2.2.3.102 Mime, MS-ASEMAIL 2.2.2.17 ConversationId, 2.2.2.18 ConversationIndex,
 * MS-ASAIRS 2.2.2.9 Content, MS-ASCMD 2.2.3.39 Data of pictures).
 */
export const BINARY_ELEMENTS: ReadonlySet<string> = new Set([
  "ComposeMail:Mime",
  "Email2:ConversationId",
  "Email2:ConversationIndex",
  "ItemOperations:ConversationId",
  "Search:ConversationId",
  "AirSyncBase:Content",
  "ResolveRecipients:Data",
  "GAL:Data",
]);
