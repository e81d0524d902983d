// Calls between the mesh's services. On loopback (the default bind address) the host is the boundary; a
// service bound to another address must be told FAAS_INTERNAL_SECRET, which every internal client sends
// and every internal server checks, so nothing else on the network can invoke functions behind the
// gateway's keys and quotas. (mTLS would also authenticate the servers to the clients; a shared secret
// is what a single-operator mesh needs first, and it works unchanged through compose's networks.)
import * as fs from "node:fs";
import * as net from "node:net";
import { ConfigError, str } from "./config.js";

export const INTERNAL_SECRET_HEADER = "faas-internal-secret";
export const MIN_INTERNAL_SECRET_LENGTH = 16;

export const internalSecretSetting = str(
  "FAAS_INTERNAL_SECRET",
  "",
  `Shared secret of the mesh's internal calls (at least ${MIN_INTERNAL_SECRET_LENGTH} characters). Required when the service binds a non-loopback address; sent by its clients to the other services.`,
);

export const internalSecretFileSetting = str(
  "FAAS_INTERNAL_SECRET_FILE",
  "",
  "File holding the internal secret, read when FAAS_INTERNAL_SECRET is empty (compose's mesh-secrets step writes one).",
);

/** The secret a service uses: FAAS_INTERNAL_SECRET, else the content of FAAS_INTERNAL_SECRET_FILE, else none. */
export function resolveInternalSecret(given: string, file: string): string {
  if (given || !file) return given;
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new ConfigError([`FAAS_INTERNAL_SECRET_FILE=${file}: ${(err as Error).message}`]);
  }
}

/** Resolves a service's secret and checks its bind address against it (see checkInternalBinding). */
export function internalSecretFor(hostEnv: string, host: string, c: { internalSecret: string; internalSecretFile: string }): string {
  const secret = resolveInternalSecret(c.internalSecret, c.internalSecretFile);
  checkInternalBinding(hostEnv, host, secret);
  return secret;
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  return host === "::1";
}

/** Throws at start when a service would listen beyond this host without a secret. */
export function checkInternalBinding(hostEnv: string, host: string, secret: string): void {
  if (secret && secret.length < MIN_INTERNAL_SECRET_LENGTH) throw new ConfigError([`FAAS_INTERNAL_SECRET must have at least ${MIN_INTERNAL_SECRET_LENGTH} characters`]);
  if (!isLoopback(host) && !secret) throw new ConfigError([`${hostEnv}=${host} is not a loopback address: set FAAS_INTERNAL_SECRET (the same on every service) so that only the mesh can call it`]);
}
