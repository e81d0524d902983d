// Messages for the protobuf codec tests (protobuf-binary-encoder/decoder): a seeded generator that fills
// any message type at random, every message type generated from proto/, and "kitchen sink" files made at
// run time that hold every scalar type in every position proto2 and proto3 allow.
import * as fs from "node:fs";
import { create, createFileRegistry, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type, FileDescriptorProtoSchema, type FieldDescriptorProto } from "@bufbuild/protobuf/wkt";

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const LONG_ASCII = "x".repeat(20_000);
export const STRINGS = ["", "a", "noop", "y".repeat(42), "z".repeat(43), "w".repeat(127), "v".repeat(128), "héllo wörld", "emoji 🚀 and 𝄞", "lone \ud800 surrogate", "日本語".repeat(50), "é".repeat(42)];
export const INT32S = [0, 1, -1, 127, 128, 300, 0x7fffffff, -0x80000000, -300];
const UINT32S = [0, 1, 127, 128, 16383, 16384, 0xffffffff, 2 ** 28];
const INT64S = [0n, 1n, -1n, 127n, 128n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const UINT64S = [0n, 1n, 127n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n];
const DOUBLES = [0, -0, 1.5, -2.25e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324];
const FLOATS = [0, -0, 1.5, -3.4028234663852886e38, 3.4028234663852886e38, Number.NaN, Number.POSITIVE_INFINITY, Math.fround(0.1)];

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomBytes(r: () => number): Uint8Array {
  const n = r() < 0.03 ? 70_000 : pick(r, [0, 1, 127, 128]);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

function randomScalar(r: () => number, type: ScalarType): unknown {
  switch (type) {
    case ScalarType.STRING:
      return r() < 0.03 ? LONG_ASCII : pick(r, STRINGS);
    case ScalarType.BYTES:
      return randomBytes(r);
    case ScalarType.BOOL:
      return r() < 0.5;
    case ScalarType.DOUBLE:
      return r() < 0.7 ? pick(r, DOUBLES) : (r() - 0.5) * 1e6;
    case ScalarType.FLOAT:
      return r() < 0.7 ? pick(r, FLOATS) : Math.fround((r() - 0.5) * 1e6);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return r() < 0.7 ? pick(r, INT32S) : Math.floor((r() - 0.5) * 2 ** 32);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return r() < 0.7 ? pick(r, UINT32S) : Math.floor(r() * 2 ** 32);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return pick(r, INT64S);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return pick(r, UINT64S);
  }
}

/**
 * An init object for create(): about half the fields set, oneofs to one of their members, nesting to
 * depth 3 and at most 12 nested messages in all.
 */
export function randomInit(r: () => number, desc: DescMessage, depth: number, budget = { messages: 12 }): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  const value = (f: DescField, kind: "scalar" | "enum" | "message", d: number): unknown => {
    if (kind === "message") return create(f.message!, randomInit(r, f.message!, d + 1, budget) as never);
    if (kind === "enum") return pick(r, f.enum!.values).number;
    return randomScalar(r, f.scalar!);
  };
  for (const f of desc.fields) {
    if (r() < 0.45) continue;
    const nested = depth < 3 && budget.messages-- > 0;
    switch (f.fieldKind) {
      case "scalar":
      case "enum":
        if (f.oneof) init[f.oneof.localName] = { case: f.localName, value: value(f, f.fieldKind, depth) };
        else init[f.localName] = value(f, f.fieldKind, depth);
        break;
      case "message":
        if (!nested) break;
        if (f.oneof) init[f.oneof.localName] = { case: f.localName, value: value(f, "message", depth) };
        else init[f.localName] = value(f, "message", depth);
        break;
      case "list": {
        if (f.listKind === "message" && !nested) break;
        const n = Math.floor(r() * 4);
        init[f.localName] = Array.from({ length: n }, () => value(f, f.listKind, depth));
        break;
      }
      case "map": {
        if (f.mapKind === "message" && !nested) break;
        const n = Math.floor(r() * 4);
        const m: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) m[pick(r, STRINGS).slice(0, 50) + i] = value(f, f.mapKind, depth);
        init[f.localName] = m;
        break;
      }
    }
  }
  return init;
}

/** Every message type generated from proto/ (ours, gRPC health, OTLP). */
export async function generatedMessages(): Promise<DescMessage[]> {
  const root = new URL("../../gen/", import.meta.url);
  const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith("_pb.js"));
  const out: DescMessage[] = [];
  for (const f of files) {
    const mod = (await import(new URL(f, root).href)) as Record<string, unknown>;
    for (const v of Object.values(mod)) if (v && typeof v === "object" && (v as DescMessage).kind === "message") out.push(v as DescMessage);
  }
  return out;
}

// Two files with every scalar type singular, optional (explicit presence), repeated packed and unpacked,
// in oneofs, maps and nested messages; proto2's groups and required fields too.
const SCALARS: [Type, string][] = [
  [Type.DOUBLE, "double"],
  [Type.FLOAT, "float"],
  [Type.INT64, "int64"],
  [Type.UINT64, "uint64"],
  [Type.INT32, "int32"],
  [Type.FIXED64, "fixed64"],
  [Type.FIXED32, "fixed32"],
  [Type.BOOL, "bool"],
  [Type.STRING, "string"],
  [Type.BYTES, "bytes"],
  [Type.UINT32, "uint32"],
  [Type.SFIXED32, "sfixed32"],
  [Type.SFIXED64, "sfixed64"],
  [Type.SINT32, "sint32"],
  [Type.SINT64, "sint64"],
];

type FieldInit = Partial<Omit<FieldDescriptorProto, "$typeName" | "options">> & { options?: { packed?: boolean } };
const field = (name: string, number: number, type: Type, o: FieldInit = {}): FieldInit => ({ name, jsonName: name, number, type, label: Label.OPTIONAL, ...o });

export function kitchenSink(syntax: "proto2" | "proto3"): DescMessage {
  const pkg = `test.${syntax}`;
  const self = `.${pkg}.Sink`;
  const fields: FieldInit[] = [];
  const oneofDecl: { name: string }[] = [{ name: "pick" }];
  SCALARS.forEach(([type, n], i) => {
    fields.push(field(`s_${n}`, 1 + i, type));
    fields.push(field(`packed_${n}`, 100 + i, type, { label: Label.REPEATED, ...(type !== Type.STRING && type !== Type.BYTES ? { options: { packed: true } } : {}) }));
    fields.push(field(`unpacked_${n}`, 200 + i, type, { label: Label.REPEATED, ...(type !== Type.STRING && type !== Type.BYTES ? { options: { packed: false } } : {}) }));
    fields.push(field(`o_${n}`, 300 + i, type, { oneofIndex: 0 }));
    if (syntax === "proto3") {
      oneofDecl.push({ name: `_opt_${n}` });
      fields.push(field(`opt_${n}`, 400 + i, type, { proto3Optional: true, oneofIndex: oneofDecl.length - 1 }));
    }
  });
  fields.push(field("e", 50, Type.ENUM, { typeName: `.${pkg}.E` }));
  fields.push(field("es", 51, Type.ENUM, { typeName: `.${pkg}.E`, label: Label.REPEATED }));
  fields.push(field("child", 60, Type.MESSAGE, { typeName: self }));
  fields.push(field("children", 61, Type.MESSAGE, { typeName: self, label: Label.REPEATED }));
  fields.push(field("o_child", 62, Type.MESSAGE, { typeName: self, oneofIndex: 0 }));
  fields.push(field("ms", 70, Type.MESSAGE, { typeName: `${self}.MsEntry`, label: Label.REPEATED }));
  fields.push(field("mm", 71, Type.MESSAGE, { typeName: `${self}.MmEntry`, label: Label.REPEATED }));
  fields.push(field("mi", 72, Type.MESSAGE, { typeName: `${self}.MiEntry`, label: Label.REPEATED }));
  fields.push(field("me", 73, Type.MESSAGE, { typeName: `${self}.MeEntry`, label: Label.REPEATED }));
  if (syntax === "proto2") {
    fields.push(field("req", 90, Type.INT32, { label: Label.REQUIRED }));
    fields.push(field("g", 91, Type.GROUP, { typeName: `${self}.G` }));
    fields.push(field("rg", 92, Type.GROUP, { typeName: `${self}.Rg`, label: Label.REPEATED }));
  }
  const entry = (name: string, value: FieldInit) => ({ name, field: [field("key", 1, Type.STRING), value], options: { mapEntry: true } });
  const file = create(FileDescriptorProtoSchema, {
    name: `${syntax}/sink.proto`,
    package: pkg,
    syntax,
    enumType: [{ name: "E", value: [{ name: "E_ZERO", number: 0 }, { name: "E_ONE", number: 1 }, { name: "E_BIG", number: 100_000 }, { name: "E_NEG", number: -1 }] }],
    messageType: [
      {
        name: "Sink",
        field: fields,
        oneofDecl,
        nestedType: [
          entry("MsEntry", field("value", 2, Type.STRING)),
          entry("MmEntry", field("value", 2, Type.MESSAGE, { typeName: self })),
          entry("MiEntry", field("value", 2, Type.SINT64)),
          entry("MeEntry", field("value", 2, Type.ENUM, { typeName: `.${pkg}.E` })),
          { name: "G", field: [field("a", 1, Type.INT32), field("b", 2, Type.STRING)] },
          { name: "Rg", field: [field("a", 1, Type.INT32)] },
        ],
      },
    ],
  } as never);
  return createFileRegistry(file, () => undefined).getMessage(`${pkg}.Sink`)!;
}

