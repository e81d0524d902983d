// Sends a fuzz case over a real socket and collects the whole answer: raw node:http2 (a few shared
// sessions, replaced when one dies) and node:http/1.1 (a keep-alive agent). Nothing here interprets
// the answer; an answer that does not complete within the bound is a hang.
import * as http from "node:http";
import * as http2 from "node:http2";
import type { FuzzCase } from "./cases.js";

export interface RawAnswer {
  /** 0 when no response head arrived. */
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly trailers: Record<string, string>;
  readonly body: Buffer;
  /** The answer ended as HTTP says it should (END_STREAM, or the whole HTTP/1.1 body). */
  readonly complete: boolean;
  readonly timedOut: boolean;
  /** What broke the exchange, when something did (reset stream, closed socket, ...). */
  readonly error?: string;
  readonly ms: number;
}

/** Answers are kept up to this size (the rest is counted, not stored): an OK answer is small. */
const MAX_KEPT_BODY = 8 << 20;

function flatten(h: Record<string, string | string[] | number | undefined> | http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}

class BodyCollector {
  readonly chunks: Buffer[] = [];
  size = 0;
  push(c: Buffer): void {
    if (this.size < MAX_KEPT_BODY) this.chunks.push(c);
    this.size += c.length;
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export class FuzzTransport {
  readonly #sessions: Array<http2.ClientHttp2Session | undefined>;
  #next = 0;
  readonly #agent: http.Agent;
  /** HTTP/2 sessions that ended with an error or a GOAWAY while in use. */
  sessionFailures = 0;
  /** Streams this client reset (RST_STREAM CANCEL) because the answer came before the whole request was sent. */
  resets = 0;

  constructor(
    private readonly url: string,
    sessions: number,
    concurrency: number,
    private readonly timeoutMs: number,
  ) {
    this.#sessions = new Array(Math.max(1, sessions)).fill(undefined);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  #session(): http2.ClientHttp2Session {
    const i = this.#next++ % this.#sessions.length;
    let s = this.#sessions[i];
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(this.url, { settings: { enablePush: false }, maxSessionMemory: 1024 });
      const created = s;
      created.on("error", () => {
        this.sessionFailures++;
        if (this.#sessions[i] === created) this.#sessions[i] = undefined;
      });
      created.on("goaway", () => {
        if (this.#sessions[i] === created) this.#sessions[i] = undefined;
      });
      created.on("close", () => {
        if (this.#sessions[i] === created) this.#sessions[i] = undefined;
      });
      this.#sessions[i] = created;
    }
    return s;
  }

  send(c: FuzzCase): Promise<RawAnswer> {
    return c.http === "h2" ? this.#sendH2(c) : this.#sendH1(c);
  }

  #sendH2(c: FuzzCase): Promise<RawAnswer> {
    const started = performance.now();
    return new Promise((resolve) => {
      let status = 0;
      let headers: Record<string, string> = {};
      let trailers: Record<string, string> = {};
      const body = new BodyCollector();
      let ended = false;
      let settled = false;
      let error: string | undefined;
      let stream: http2.ClientHttp2Stream;
      const finish = (timedOut: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers, trailers, body: body.body, complete: ended && !timedOut, timedOut, error, ms: performance.now() - started });
      };
      const timer = setTimeout(() => {
        this.resets++;
        stream?.close(http2.constants.NGHTTP2_CANCEL);
        finish(true);
      }, this.timeoutMs);
      try {
        stream = this.#session().request({ ":method": c.method, ":path": c.path, ...c.headers }, { endStream: false });
      } catch (err) {
        error = `request refused by the client: ${(err as Error).message}`;
        return finish(false);
      }
      stream.on("response", (h) => {
        const flat = flatten(h);
        status = Number(flat[":status"] ?? 0);
        delete flat[":status"];
        headers = flat;
      });
      stream.on("trailers", (t) => (trailers = flatten(t)));
      stream.on("data", (chunk: Buffer) => body.push(chunk));
      // The answer is whole at the server's END_STREAM, even while our side still sends (a server may
      // answer an oversize body before reading it all): the stream is cancelled then. Only then: a
      // server closes a connection whose peer resets streams fast (nghttp2's rapid-reset guard).
      stream.on("end", () => {
        ended = true;
        if (!stream.writableFinished) {
          this.resets++;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
        finish(false);
      });
      stream.on("error", (err) => (error = err.message));
      // 'close' comes after 'end' (or instead of it, on a reset): the exchange is over.
      stream.on("close", () => {
        if (!ended && !error && stream.rstCode) error = `stream reset (code ${stream.rstCode})`;
        finish(false);
      });
      stream.end(c.body);
    });
  }

  #sendH1(c: FuzzCase): Promise<RawAnswer> {
    const started = performance.now();
    const u = new URL(this.url);
    return new Promise((resolve) => {
      let settled = false;
      let error: string | undefined;
      let res: http.IncomingMessage | undefined;
      const body = new BodyCollector();
      let ended = false;
      const finish = (timedOut: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({
          status: res?.statusCode ?? 0,
          headers: res ? flatten(res.headers) : {},
          trailers: res ? flatten(res.trailers) : {},
          body: body.body,
          complete: ended && !timedOut,
          timedOut,
          error,
          ms: performance.now() - started,
        });
      };
      const timer = setTimeout(() => {
        req.destroy(new Error("timed out"));
        finish(true);
      }, this.timeoutMs);
      const headers = { ...c.headers, "content-length": String(c.body.length) };
      let req: http.ClientRequest;
      try {
        req = http.request({ host: u.hostname, port: u.port, method: c.method, path: c.path, headers, agent: this.#agent }, (r) => {
        res = r;
        r.on("data", (chunk: Buffer) => body.push(chunk));
        r.on("end", () => {
          ended = true;
          finish(false);
        });
        r.on("error", (err) => (error ??= err.message));
        r.on("close", () => finish(false));
      });
      } catch (err) {
        error = `request refused by the client: ${(err as Error).message}`;
        return finish(false);
      }
      req.on("error", (err) => {
        error ??= err.message;
        // An early answer (e.g. to an oversize body) may be followed by the server closing the socket.
        if (!res) finish(false);
      });
      req.end(c.body);
    });
  }

  close(): void {
    for (const s of this.#sessions) s?.close();
    this.#agent.destroy();
  }
}
