// Well-formed requests of every GatewayService method (and, generically, of the other services on the
// gateway's port): the starting points the mutators corrupt. Some are valid and really run (an
// invocation of a deployed function, the redeploy of one), most are well-formed but wrong in content
// (names, limits, paths, ids), which the gateway must refuse with a precise code.
import { clone, create, type DescMessage, type DescMethod, type DescService, type Message } from "@bufbuild/protobuf";
import { FunctionCodeSchema, LimitsSchema } from "../../gen/faas/common/v1/common_pb.js";
import { AdminService } from "../../gen/faas/gateway/v1/admin_pb.js";
import {
  DeleteFunctionRequestSchema,
  DeployFunctionRequestSchema,
  GatewayService,
  GetFunctionRequestSchema,
  GetResultRequestSchema,
  InvokeAsyncRequestSchema,
  InvokeRequestSchema,
  ListFunctionsRequestSchema,
  type DeployFunctionRequest,
} from "../../gen/faas/gateway/v1/gateway_pb.js";
import { payload } from "./payloads.js";
import type { Rng } from "./rng.js";
import { functionNames, type FuzzTarget } from "./target.js";

export type UnaryMethod = DescMethod & { methodKind: "unary"; input: DescMessage; output: DescMessage };

/** The services served on the gateway's public port; GatewayService is the one fuzzed with content-aware seeds. */
export const FUZZED_SERVICES: readonly DescService[] = [GatewayService, AdminService];

export const unaryMethods = (s: DescService) => s.methods.filter((m): m is UnaryMethod => m.methodKind === "unary");

export const methodPath = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;

export interface Seed {
  readonly message: Message;
  /** What the seed is, for the case's label. */
  readonly kind: string;
}

const BAD_NAMES = ["", "Bad_Name", "-x", "x-", "a".repeat(64), "ünïcode", "x y", "../x", "x\u0000y", "UPPER", "a_b", "dev_noop", "🙂"];
const MISSING_NAME = "fuzz-absent";

function functionName(rng: Rng, t: FuzzTarget): [string, string] {
  const names = functionNames(t);
  return rng.weighted<[string, string]>([
    [[rng.pick(names), "deployed"], 6],
    [[MISSING_NAME, "missing"], 2],
    [[rng.pick(BAD_NAMES), "bad-name"], 2],
  ]);
}

/** The deploy request of a deployed function, made wrong in one field (or left as it is: a same-version redeploy). */
function deploySeed(rng: Rng, t: FuzzTarget): Seed {
  const base = clone(DeployFunctionRequestSchema, rng.pick(t.functions)) as DeployFunctionRequest;
  const spec = base.spec!;
  const files = base.code!.files;
  const wrongs: Array<[string, () => void]> = [
    ["same-version", () => {}],
    ["no-spec", () => (base.spec = undefined)],
    ["no-code", () => (base.code = undefined)],
    ["bad-name", () => (spec.name = rng.pick(BAD_NAMES))],
    ["bad-runtime", () => (spec.runtime = rng.pick(["python3", "nodejs20 ", "NODEJS20", "nodejs"]))],
    ["bad-entry", () => (spec.entry = rng.pick(["missing.js", "../etc/passwd", "/abs.js", "a\\b.js", "./index.js", "a//b.js"]))],
    ["bad-dependency", () => (spec.dependencies = rng.pick<Record<string, string>>([{ "left-pad": "^1.0.0" }, { "Bad Name": "1.0.0" }, { x: "latest" }, { x: "git+https://example.com/x.git" }, { "": "1.0.0" }]))],
    ["bad-env", () => (spec.env = rng.pick<Record<string, string>>([{ FAAS_X: "1" }, { "1BAD": "x" }, { K: "a\u0000b" }, { "": "x" }, { BIG: "v".repeat(70_000) }]))],
    ["bad-path", () => (files[rng.pick(["../x.js", "node_modules/x.js", "", "/abs.js", "a\\b.js", "a/./b.js", "a\u0000.js", "x".repeat(1025)])] = Buffer.from("1"))],
    ["no-files", () => (base.code = create(FunctionCodeSchema, { files: {} }))],
    ["bad-limits", () => {
      const limits = create(LimitsSchema, spec.limits);
      const field = rng.pick(["memoryMb", "timeoutMs", "maxConcurrency", "workers"] as const);
      limits[field] = rng.pick({ memoryMb: [1, 63, 8193, 4294967295], timeoutMs: [900_001, 4294967295], maxConcurrency: [1001, 4294967295], workers: [17, 4294967295] }[field]);
      spec.limits = limits;
    }],
    ["bad-batch-window", () => (spec.batchWindowMs = rng.pick([10_001, 4294967295]))],
    ["too-much-code", () => (files["big.bin"] = Buffer.alloc(t.maxCodeBytes + 1, 0x61))],
  ];
  const [kind, apply] = rng.weighted(wrongs.map((w, i) => [w, i === 0 ? 3 : i === wrongs.length - 1 ? 0.3 : 1] as const));
  apply();
  return { message: base, kind: `deploy:${kind}` };
}

function invocationId(rng: Rng, t: FuzzTarget): [string, string] {
  return rng.weighted<[string, string]>([
    [[t.invocationIds.length ? rng.pick(t.invocationIds) : rng.hex(32), "known"], 3],
    [[rng.hex(32), "unknown"], 3],
    [[rng.pick(["", "x", rng.hex(31), rng.hex(33), rng.hex(32).toUpperCase(), "g".repeat(32), `${rng.hex(31)}\u0000`]), "malformed"], 2],
  ]);
}

/** A well-formed request of `method`: content-aware for GatewayService, generic for the others. */
export function seedFor(rng: Rng, method: UnaryMethod, t: FuzzTarget): Seed {
  switch (method.input.typeName) {
    case DeployFunctionRequestSchema.typeName:
      return deploySeed(rng, t);
    case GetFunctionRequestSchema.typeName: {
      const [name, kind] = functionName(rng, t);
      return { message: create(GetFunctionRequestSchema, { name }), kind: `get:${kind}` };
    }
    case ListFunctionsRequestSchema.typeName:
      return { message: create(ListFunctionsRequestSchema), kind: "list" };
    case DeleteFunctionRequestSchema.typeName: {
      // Never a deployed function (guard.ts also keeps mutations from hitting one).
      const [name, kind] = rng.chance(0.5) ? [MISSING_NAME, "missing"] : [rng.pick(BAD_NAMES), "bad-name"];
      return { message: create(DeleteFunctionRequestSchema, { name }), kind: `delete:${kind}` };
    }
    case InvokeRequestSchema.typeName:
    case InvokeAsyncRequestSchema.typeName: {
      const [fn, kind] = functionName(rng, t);
      const p = payload(rng, t.maxPayloadBytes);
      const schema = method.input.typeName === InvokeRequestSchema.typeName ? InvokeRequestSchema : InvokeAsyncRequestSchema;
      const verb = schema === InvokeRequestSchema ? "invoke" : "invoke-async";
      return { message: create(schema, { function: fn, payload: p.bytes }), kind: `${verb}:${kind}:${p.kind}` };
    }
    case GetResultRequestSchema.typeName: {
      const [invocationId_, kind] = invocationId(rng, t);
      const waitMs = rng.weighted([[0, 6], [rng.int(1, 200), 3], [60_001, 1], [4294967295, 0.5]]);
      return { message: create(GetResultRequestSchema, { invocationId: invocationId_, waitMs }), kind: `get-result:${kind}` };
    }
    default:
      return { message: genericMessage(rng, method.input), kind: `${method.parent.name}.${method.name}` };
  }
}

/** Any message of the schema with its scalar string and number fields filled at random (one level). */
function genericMessage(rng: Rng, schema: DescMessage): Message {
  const init: Record<string, unknown> = {};
  for (const f of schema.fields) {
    if (f.fieldKind !== "scalar" || rng.chance(0.3)) continue;
    if (f.scalar === 9 /* STRING */) init[f.localName] = rng.chance(0.5) ? "dev" : rng.ascii(rng.length(40));
    else if (f.scalar === 13 /* UINT32 */ || f.scalar === 5 /* INT32 */) init[f.localName] = rng.int(0, 1000);
  }
  return create(schema, init as never);
}
