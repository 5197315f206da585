/**
 * TLS for the appliance: self-signed CA and server certificates generated
 * with WebCrypto, certificate inspection and checks, and the files on disk.
 *
 * @module
 */
export * from "./cert_info.ts";
export * from "./load.ts";
export * from "./self_signed.ts";
export { DerSyntaxError } from "./der.ts";
