// Function containers run without a network, so their sidecars cannot reach the OTLP collector. This
// relay listens on a Unix socket in a host directory bind-mounted (read-only) into every container and
// forwards each OTLP/HTTP export to the collector node-manager itself exports to. An export is streamed
// through as it arrives, on a keep-alive connection: with every trace recorded the relay carries a
// span per invocation, and buffering each export then sending it with fetch cost node-manager ~7 µs per
// invocation in profiles (README, "What tracing costs").
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { pipeline } from "node:stream";
import type { Logger } from "../../common/logger.js";

export const RELAY_SOCKET_FILE = "otlp.sock";
/** A sidecar's batch is at most 512 spans; this bounds what one export may hold. */
export const MAX_EXPORT_BYTES = 8 * 1024 * 1024;

export class OtlpRelay {
  private constructor(
    private readonly server: http.Server,
    private readonly agent: http.Agent,
    readonly dir: string,
  ) {}

  /** Listens on dir/otlp.sock, forwarding to target (an OTLP/HTTP traces URL). */
  static async start(dir: string, target: string, logger: Logger): Promise<OtlpRelay> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const socketPath = path.join(dir, RELAY_SOCKET_FILE);
    fs.rmSync(socketPath, { force: true });
    const url = new URL(target);
    const secure = url.protocol === "https:";
    const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    let failures = 0;
    const failed = (res: http.ServerResponse, err: Error) => {
      // One line per 100 failures: a collector that is down must not flood the node's log.
      if (failures++ % 100 === 0) logger.warn({ target, err: err.message, failures }, "OTLP relay cannot reach the collector");
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    };
    const server = http.createServer((req, res) => {
      if (req.method !== "POST") return void res.writeHead(405, { allow: "POST" }).end();
      const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
      if (declared !== undefined && declared > MAX_EXPORT_BYTES) {
        res.writeHead(413, { connection: "close" }).end();
        return void req.resume();
      }
      // Without a length (chunked) the body goes on chunked too, counted against the bound.
      const headers: http.OutgoingHttpHeaders = { "content-type": req.headers["content-type"] ?? "application/json" };
      if (declared !== undefined) headers["content-length"] = declared;
      let senderGone = false;
      const up = (secure ? https : http).request(url, { method: "POST", agent, headers }, (answer) => {
        const h: http.OutgoingHttpHeaders = { "content-type": answer.headers["content-type"] ?? "application/json" };
        if (answer.headers["content-length"]) h["content-length"] = answer.headers["content-length"];
        res.writeHead(answer.statusCode ?? 502, h);
        pipeline(answer, res, () => {});
      });
      up.on("error", (err) => {
        if (!senderGone) failed(res, err);
      });
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        if (senderGone) return; // refused: the rest is read and dropped
        size += chunk.length;
        if (size <= MAX_EXPORT_BYTES) {
          if (!up.write(chunk)) {
            req.pause();
            up.once("drain", () => req.resume());
          }
          return;
        }
        senderGone = true;
        up.destroy();
        res.writeHead(413, { connection: "close" }).end();
      });
      req.on("end", () => {
        if (!senderGone) up.end();
      });
      req.on("error", () => {
        senderGone = true;
        up.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    // Sidecars run as root or as a function's uid: any of them may connect; the directory is read-only to them.
    fs.chmodSync(socketPath, 0o666);
    logger.info({ socket: socketPath, target }, "OTLP relay for the containers' spans");
    return new OtlpRelay(server, agent, dir);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      this.agent.destroy();
    });
  }
}
