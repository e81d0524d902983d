// Keeps the fuzzer from changing what it fuzzes. A mutated DeployFunction that still decodes to a valid
// deploy would build a new function image (seconds of CPU, and thousands of them in a run), or replace a
// deployed function with different code or limits; a DeleteFunction could name a deployed function.
// Each such request is predicted here exactly as the gateway would decode it (same library, same
// options) and made harmless: a valid deploy other than a same-version redeploy of a deployed function
// gets an unknown runtime (INVALID_ARGUMENT), a delete of a deployed function names a missing one.
import { clone, create, fromBinary, fromJsonString, toBinary, toJsonString, type DescMessage } from "@bufbuild/protobuf";
import { FunctionSpecSchema, type FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { DeleteFunctionRequestSchema, DeployFunctionRequestSchema, type DeployFunctionRequest } from "../../gen/faas/gateway/v1/gateway_pb.js";
import { validateDeploy } from "../../services/gateway/function-validation.js";
import { functionNames, type FuzzTarget } from "./target.js";

export type Codec = "proto" | "json";

// connect-es decodes JSON with a non-fatal TextDecoder and ignores unknown fields (serialization.js).
const textDecoder = new TextDecoder();
const JSON_OPTIONS = { ignoreUnknownFields: true };

function decode(schema: DescMessage, codec: Codec, bytes: Uint8Array) {
  try {
    return codec === "proto" ? fromBinary(schema, bytes) : fromJsonString(schema, textDecoder.decode(bytes), JSON_OPTIONS);
  } catch {
    return undefined;
  }
}

function encode(schema: DescMessage, codec: Codec, message: never): Buffer {
  return codec === "proto" ? Buffer.from(toBinary(schema, message)) : Buffer.from(toJsonString(schema, message));
}

/** A deploy as the gateway stores it, without its time: equal for a same-version redeploy. */
function resolvedKey(req: DeployFunctionRequest, maxCodeBytes: number): string | undefined {
  try {
    const spec = clone(FunctionSpecSchema, validateDeploy(req.spec, req.code, { maxCodeBytes }, 0n).spec) as FunctionSpec;
    spec.createdAtUnixUs = 0n;
    return Buffer.from(toBinary(FunctionSpecSchema, spec)).toString("base64");
  } catch {
    return undefined;
  }
}

export class SideEffectGuard {
  readonly #allowed: Set<string>;
  readonly #protectedNames: Set<string>;
  /** Requests rewritten so far. */
  defused = 0;

  constructor(private readonly target: FuzzTarget) {
    this.#allowed = new Set(target.functions.map((f) => resolvedKey(f, target.maxCodeBytes)).filter((k): k is string => k !== undefined));
    this.#protectedNames = new Set(functionNames(target));
  }

  /** The message bytes to send instead of `bytes` (the same bytes when they are harmless). */
  check(schema: DescMessage, codec: Codec, bytes: Buffer): Buffer {
    if (bytes.length > this.target.readMaxBytes) return bytes;
    if (schema.typeName === DeployFunctionRequestSchema.typeName) {
      const req = decode(schema, codec, bytes) as DeployFunctionRequest | undefined;
      if (!req) return bytes;
      const key = resolvedKey(req, this.target.maxCodeBytes);
      if (key === undefined || this.#allowed.has(key)) return bytes;
      this.defused++;
      const harmless = clone(DeployFunctionRequestSchema, req);
      harmless.spec = clone(FunctionSpecSchema, req.spec ?? create(FunctionSpecSchema));
      harmless.spec.runtime = "fuzz-defused";
      return encode(schema, codec, harmless as never);
    }
    if (schema.typeName === DeleteFunctionRequestSchema.typeName) {
      const req = decode(schema, codec, bytes) as { name: string } | undefined;
      if (!req || !this.#protectedNames.has(req.name)) return bytes;
      this.defused++;
      return encode(schema, codec, create(DeleteFunctionRequestSchema, { name: "fuzz-absent" }) as never);
    }
    return bytes;
  }
}
