/** MS-ASWBXML 2.1.2.1.12 Code Page 11: ValidateCert. Tag name to token, names as the spec spells them. */
export const VALIDATE_CERT = {
  page: 11,
  namespace: "ValidateCert",
  tokens: {
    ValidateCert: 0x05,
    Certificates: 0x06,
    Certificate: 0x07,
    CertificateChain: 0x08,
    CheckCrl: 0x09,
    Status: 0x0A,
  },
} as const;
