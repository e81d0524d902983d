// The socket lives in a host directory that node-manager created and bind-mounted at /run/faas. The
// sidecar runs as root in the container, so the socket would be root's and a non-root node-manager could
// not connect: hand it to the owner of that directory.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "../common/logger.js";

export function handSocketToDirectoryOwner(socketPath: string, logger: Logger): void {
  try {
    const dir = fs.statSync(path.dirname(socketPath));
    const sock = fs.statSync(socketPath);
    if (dir.uid === sock.uid && dir.gid === sock.gid) return;
    fs.chownSync(socketPath, dir.uid, dir.gid);
  } catch (err) {
    logger.warn({ socketPath, err: (err as Error).message }, "could not give the socket to its directory's owner; only its current owner can connect");
  }
}
