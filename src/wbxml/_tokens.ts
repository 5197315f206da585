/** WBXML 1.3 global tokens (WAP-192-WBXML section 7.1) and EAS header values (MS-ASWBXML 2.1.2.1). */
export const GLOBAL = {
  SWITCH_PAGE: 0x00,
  END: 0x01,
  ENTITY: 0x02,
  STR_I: 0x03,
  LITERAL: 0x04,
  EXT_I_0: 0x40,
  EXT_I_1: 0x41,
  EXT_I_2: 0x42,
  PI: 0x43,
  LITERAL_C: 0x44,
  EXT_T_0: 0x80,
  EXT_T_1: 0x81,
  EXT_T_2: 0x82,
  STR_T: 0x83,
  LITERAL_A: 0x84,
  EXT_0: 0xC0,
  EXT_1: 0xC1,
  EXT_2: 0xC2,
  OPAQUE: 0xC3,
  LITERAL_AC: 0xC4,
} as const;

/** Tag byte flags (WAP-192-WBXML 5.8.2): bit 6 means content follows, bit 7 attributes follow. */
export const TAG_CONTENT = 0x40;
/** Attribute flag; EAS never uses attributes. */
export const TAG_ATTRIBUTES = 0x80;

/** The header EAS writes: version 1.3, public id 1 (unknown), charset 106 (UTF-8), empty string table. */
export const EAS_HEADER = new Uint8Array([0x03, 0x01, 0x6A, 0x00]);
