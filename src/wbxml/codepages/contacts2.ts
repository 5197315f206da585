/** MS-ASWBXML 2.1.2.1.13 Code Page 12: Contacts2. Tag name to token, names as the spec spells them. */
export const CONTACTS2 = {
  page: 12,
  namespace: "Contacts2",
  tokens: {
    CustomerId: 0x05,
    GovernmentId: 0x06,
    IMAddress: 0x07,
    IMAddress2: 0x08,
    IMAddress3: 0x09,
    ManagerName: 0x0A,
    CompanyMainPhone: 0x0B,
    AccountName: 0x0C,
    NickName: 0x0D,
    MMS: 0x0E,
  },
} as const;
