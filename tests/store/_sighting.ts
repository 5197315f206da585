import type { DeviceSighting } from "../../src/store/mod.ts";

/** A request of alice's iPhone as the HTTP layer reports it to devices.sighted(). */
export function sighting(deviceId = "DEV1"): DeviceSighting {
  return {
    user: "alice",
    deviceId,
    deviceType: "iPhone",
    userAgent: "Apple-iPhone/1",
    protocolVersion: "16.1",
  };
}
