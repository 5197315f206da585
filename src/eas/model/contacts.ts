import { type Body, BODY_SCHEMA } from "./airsyncbase.ts";
import type { FieldSpec, ObjectSchema } from "./schema.ts";

const CN = "Contacts";
const C2 = "Contacts2";
const ASB = "AirSyncBase";

/**
 * A contact (MS-ASCNTC 2.2.2 Contacts and Contacts2 properties). Every
 * string property maps one to one to an element of the same name.
 */
export interface Contact {
  anniversary?: Date;
  assistantName?: string;
  assistantPhoneNumber?: string;
  birthday?: Date;
  body?: Body;
  body25?: string;
  business2PhoneNumber?: string;
  businessAddressCity?: string;
  businessPhoneNumber?: string;
  webPage?: string;
  businessAddressCountry?: string;
  department?: string;
  email1Address?: string;
  email2Address?: string;
  email3Address?: string;
  businessFaxNumber?: string;
  fileAs?: string;
  alias?: string;
  firstName?: string;
  middleName?: string;
  homeAddressCity?: string;
  homeAddressCountry?: string;
  homeFaxNumber?: string;
  homePhoneNumber?: string;
  home2PhoneNumber?: string;
  homeAddressPostalCode?: string;
  homeAddressState?: string;
  homeAddressStreet?: string;
  mobilePhoneNumber?: string;
  suffix?: string;
  companyName?: string;
  otherAddressCity?: string;
  otherAddressCountry?: string;
  carPhoneNumber?: string;
  otherAddressPostalCode?: string;
  otherAddressState?: string;
  otherAddressStreet?: string;
  pagerNumber?: string;
  title?: string;
  businessAddressPostalCode?: string;
  lastName?: string;
  spouse?: string;
  businessAddressState?: string;
  businessAddressStreet?: string;
  jobTitle?: string;
  yomiFirstName?: string;
  yomiLastName?: string;
  yomiCompanyName?: string;
  officeLocation?: string;
  radioPhoneNumber?: string;
  /** Base64 JPEG (MS-ASCNTC 2.2.2.57 Picture). */
  picture?: string;
  categories?: string[];
  children?: string[];
  // Contacts2 (MS-ASCNTC 2.2.2: the Contacts2 code page)
  customerId?: string;
  governmentId?: string;
  imAddress?: string;
  imAddress2?: string;
  imAddress3?: string;
  managerName?: string;
  companyMainPhone?: string;
  accountName?: string;
  nickName?: string;
  mms?: string;
}

/** [field, tag] of the plain string properties of the Contacts code page, in code page order. */
export const CONTACT_STRING_TAGS: readonly (readonly [keyof Contact, string])[] = [
  ["assistantName", "AssistantName"],
  ["assistantPhoneNumber", "AssistantPhoneNumber"],
  ["business2PhoneNumber", "Business2PhoneNumber"],
  ["businessAddressCity", "BusinessAddressCity"],
  ["businessPhoneNumber", "BusinessPhoneNumber"],
  ["webPage", "WebPage"],
  ["businessAddressCountry", "BusinessAddressCountry"],
  ["department", "Department"],
  ["email1Address", "Email1Address"],
  ["email2Address", "Email2Address"],
  ["email3Address", "Email3Address"],
  ["businessFaxNumber", "BusinessFaxNumber"],
  ["fileAs", "FileAs"],
  ["alias", "Alias"],
  ["firstName", "FirstName"],
  ["middleName", "MiddleName"],
  ["homeAddressCity", "HomeAddressCity"],
  ["homeAddressCountry", "HomeAddressCountry"],
  ["homeFaxNumber", "HomeFaxNumber"],
  ["homePhoneNumber", "HomePhoneNumber"],
  ["home2PhoneNumber", "Home2PhoneNumber"],
  ["homeAddressPostalCode", "HomeAddressPostalCode"],
  ["homeAddressState", "HomeAddressState"],
  ["homeAddressStreet", "HomeAddressStreet"],
  ["mobilePhoneNumber", "MobilePhoneNumber"],
  ["suffix", "Suffix"],
  ["companyName", "CompanyName"],
  ["otherAddressCity", "OtherAddressCity"],
  ["otherAddressCountry", "OtherAddressCountry"],
  ["carPhoneNumber", "CarPhoneNumber"],
  ["otherAddressPostalCode", "OtherAddressPostalCode"],
  ["otherAddressState", "OtherAddressState"],
  ["otherAddressStreet", "OtherAddressStreet"],
  ["pagerNumber", "PagerNumber"],
  ["title", "Title"],
  ["businessAddressPostalCode", "BusinessAddressPostalCode"],
  ["lastName", "LastName"],
  ["spouse", "Spouse"],
  ["businessAddressState", "BusinessAddressState"],
  ["businessAddressStreet", "BusinessAddressStreet"],
  ["jobTitle", "JobTitle"],
  ["yomiFirstName", "YomiFirstName"],
  ["yomiLastName", "YomiLastName"],
  ["yomiCompanyName", "YomiCompanyName"],
  ["officeLocation", "OfficeLocation"],
  ["radioPhoneNumber", "RadioPhoneNumber"],
  ["picture", "Picture"],
];

/** [field, tag] of the Contacts2 code page (all strings). */
export const CONTACT2_STRING_TAGS: readonly (readonly [keyof Contact, string])[] = [
  ["customerId", "CustomerId"],
  ["governmentId", "GovernmentId"],
  ["imAddress", "IMAddress"],
  ["imAddress2", "IMAddress2"],
  ["imAddress3", "IMAddress3"],
  ["managerName", "ManagerName"],
  ["companyMainPhone", "CompanyMainPhone"],
  ["accountName", "AccountName"],
  ["nickName", "NickName"],
  ["mms", "MMS"],
];

const strings = (ns: string, tags: typeof CONTACT_STRING_TAGS): FieldSpec[] =>
  tags.map(([field, tag]) => ({ field, ns, tag, type: "string" as const }));

/** Tag table of a contact (MS-ASCNTC 2.2.2); Contacts2 fields from 12.0. */
export const CONTACT_SCHEMA: ObjectSchema = {
  name: "Contact",
  fields: [
    { field: "anniversary", ns: CN, tag: "Anniversary", type: "date" },
    { field: "birthday", ns: CN, tag: "Birthday", type: "date" },
    { field: "body", ns: ASB, tag: "Body", type: "nested", schema: BODY_SCHEMA, minVersion: "12.0" },
    { field: "body25", ns: CN, tag: "Body", type: "string", maxVersion: "2.5" },
    ...strings(CN, CONTACT_STRING_TAGS),
    {
      field: "categories",
      ns: CN,
      tag: "Category",
      type: "string",
      repeated: true,
      container: { ns: CN, tag: "Categories" },
    },
    {
      field: "children",
      ns: CN,
      tag: "Child",
      type: "string",
      repeated: true,
      container: { ns: CN, tag: "Children" },
    },
    ...strings(C2, CONTACT2_STRING_TAGS).map((f) => ({ ...f, minVersion: "12.0" })),
  ],
};
