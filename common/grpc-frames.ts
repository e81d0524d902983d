// gRPC's length-prefixed messages on a stream: a 1-byte compressed flag, a 4-byte big-endian length, the
// message. HTTP/2 DATA frames cut and join them arbitrarily; the parser puts them back together. Writing
// one is protobuf-binary-encoder.ts's encodeEnvelope.
import { Code, ConnectError } from "@connectrpc/connect";

export class EnvelopeParser {
  #buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly readMaxBytes: number) {}

  /** The messages completed by this chunk, in order. Throws a ConnectError on a compressed or oversize one. */
  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: Buffer[] = [];
    while (this.#buffer.length >= 5) {
      if (this.#buffer[0] !== 0) throw new ConnectError("protocol error: compressed message without grpc-encoding", Code.InvalidArgument);
      const length = this.#buffer.readUInt32BE(1);
      if (length > this.readMaxBytes) throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${this.readMaxBytes}`, Code.ResourceExhausted);
      if (this.#buffer.length < 5 + length) break;
      out.push(this.#buffer.subarray(5, 5 + length));
      this.#buffer = this.#buffer.subarray(5 + length);
    }
    return out;
  }
}
