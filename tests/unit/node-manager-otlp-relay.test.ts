// node-manager's OTLP relay forwards what a sidecar exports on its Unix socket to the collector,
// byte for byte, with the collector's answer; bounds what one export may hold; answers 502 when the
// collector cannot be reached. A real HTTP collector and real sockets.
import test from "ava";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { MAX_EXPORT_BYTES, OtlpRelay, RELAY_SOCKET_FILE } from "../../services/node-manager/otlp-relay.js";

interface Received {
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

async function collector(status = 200): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks), contentType: req.headers["content-type"] });
      res.writeHead(status, { "content-type": "application/x-protobuf" }).end(Buffer.from([1, 2, 3]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, received, close: () => (server.closeAllConnections(), server.close()) };
}

/** POSTs body to the relay's socket, as a sidecar's exporter does (chunked when no length is given). */
function post(socketPath: string, body: Buffer, withLength = true): Promise<{ status: number; body: Buffer; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { "content-type": "application/x-protobuf" };
    if (withLength) headers["content-length"] = body.length;
    const req = http.request({ socketPath, path: "/v1/traces", method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), contentType: res.headers["content-type"] }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const logger = pino({ level: "silent" });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "otlp-relay-"));

test("exports reach the collector byte for byte, with its answer; many on kept-alive connections", async (t) => {
  const c = await collector();
  const relay = await OtlpRelay.start(tmp(), c.url, logger);
  const socket = path.join(relay.dir, RELAY_SOCKET_FILE);
  try {
    const big = Buffer.alloc(300_000, 7);
    const bodies = [Buffer.from("first"), big, ...Array.from({ length: 20 }, (_, i) => Buffer.from(`export ${i}`))];
    const answers = await Promise.all(bodies.map((b, i) => post(socket, b, i % 2 === 0)));
    for (const a of answers) {
      t.is(a.status, 200);
      t.is(a.contentType, "application/x-protobuf");
      t.deepEqual([...a.body], [1, 2, 3]);
    }
    t.is(c.received.length, bodies.length);
    const got = c.received.map((r) => r.body.toString("base64")).sort();
    t.deepEqual(got, bodies.map((b) => b.toString("base64")).sort());
    t.true(c.received.every((r) => r.contentType === "application/x-protobuf"));
  } finally {
    await relay.close();
    c.close();
  }
});

test("the collector's error status is passed back; an export over the bound is refused and not forwarded", async (t) => {
  const c = await collector(503);
  const relay = await OtlpRelay.start(tmp(), c.url, logger);
  const socket = path.join(relay.dir, RELAY_SOCKET_FILE);
  try {
    t.is((await post(socket, Buffer.from("x"))).status, 503);
    const tooBig = Buffer.alloc(MAX_EXPORT_BYTES + 1);
    t.is((await post(socket, tooBig)).status, 413);
    t.is((await post(socket, tooBig, false)).status, 413, "chunked, without a length: counted as it arrives");
    t.is(c.received.length, 1);
  } finally {
    await relay.close();
    c.close();
  }
});

test("a collector that is down gets a 502, and the relay goes on serving", async (t) => {
  const c = await collector();
  const downUrl = c.url;
  c.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const relay = await OtlpRelay.start(tmp(), downUrl, logger);
  const socket = path.join(relay.dir, RELAY_SOCKET_FILE);
  try {
    t.is((await post(socket, Buffer.from("lost"))).status, 502);
    t.is((await post(socket, Buffer.from("lost again"), false)).status, 502);
  } finally {
    await relay.close();
  }
});
