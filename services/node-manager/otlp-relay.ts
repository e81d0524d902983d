// Function containers run without a network, so their sidecars cannot reach the OTLP collector. This
// relay listens on a Unix socket in a host directory bind-mounted (read-only) into every container and
// forwards each OTLP/HTTP export to the collector node-manager itself exports to.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { Logger } from "../../common/logger.js";

export const RELAY_SOCKET_FILE = "otlp.sock";
/** A sidecar's batch is at most 512 spans; this bounds what one export may hold. */
const MAX_EXPORT_BYTES = 8 * 1024 * 1024;

export class OtlpRelay {
  private constructor(
    private readonly server: http.Server,
    readonly dir: string,
  ) {}

  /** Listens on dir/otlp.sock, forwarding to target (an OTLP/HTTP traces URL). */
  static async start(dir: string, target: string, logger: Logger): Promise<OtlpRelay> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const socketPath = path.join(dir, RELAY_SOCKET_FILE);
    fs.rmSync(socketPath, { force: true });
    let failures = 0;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_EXPORT_BYTES) {
          res.writeHead(413).end();
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => {
        if (res.headersSent) return;
        fetch(target, { method: "POST", headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body: Buffer.concat(chunks) }).then(
          async (up) => {
            res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/json" }).end(Buffer.from(await up.arrayBuffer()));
          },
          (err: Error) => {
            // One line per 100 failures: a collector that is down must not flood the node's log.
            if (failures++ % 100 === 0) logger.warn({ target, err: err.message, failures }, "OTLP relay cannot reach the collector");
            res.writeHead(502).end();
          },
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    // Sidecars run as root or as a function's uid: any of them may connect; the directory is read-only to them.
    fs.chmodSync(socketPath, 0o666);
    logger.info({ socket: socketPath, target }, "OTLP relay for the containers' spans");
    return new OtlpRelay(server, dir);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
