// Mutations of a Connect JSON request body (protobuf's canonical JSON of the message): values of the
// wrong type, unknown fields, huge strings, deep nesting, numbers out of range, invalid base64 in bytes
// fields, and edits of the text itself: random characters, invalid UTF-8, truncation, non-object bodies.
import type { Rng } from "./rng.js";
import type { Mutated } from "./binary-mutators.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Slot {
  readonly parent: Json[] | { [k: string]: Json };
  readonly key: string | number;
  readonly value: Json;
}

/** Every value in the tree, with where it sits. */
function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const walk = (v: Json) => {
    if (Array.isArray(v)) v.forEach((x, i) => (out.push({ parent: v, key: i, value: x }), walk(x)));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push({ parent: v, key: k, value: x }), walk(x);
  };
  walk(root);
  return out;
}

function objects(root: Json): Array<{ [k: string]: Json }> {
  const out: Array<{ [k: string]: Json }> = [];
  const walk = (v: Json) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") (out.push(v), Object.values(v).forEach(walk));
  };
  walk(root);
  return out;
}

const set = (s: Slot, v: Json) => ((s.parent as Record<string | number, Json>)[s.key] = v);
/** A fresh copy of one of the values (the tables are shared by every case and must stay as they are). */
const wrongValue = (rng: Rng): Json => structuredClone(rng.pick(WRONG_VALUES));
/** Fields protobuf JSON encodes as base64 (bytes): Invoke's payload, the code's files. */
const looksBase64 = (s: Slot) => typeof s.value === "string" && (s.key === "payload" || (typeof s.key === "string" && /\.(js|json|mjs|cjs|bin)$/.test(s.key)));

const deepText = (depth: number, shape: "array" | "object") => (shape === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "0" + "}".repeat(depth));
const WRONG_VALUES: Json[] = [null, true, 0, -1, 1.5, "", "x", [], {}, [1, "a"], { a: 1 }, 4294967296, -2147483649, 1e308];
const ODD_NUMBERS = ["-1", "4294967296", "18446744073709551616", "1.5", "1e400", "-0", '"NaN"', '"Infinity"', '"0x10"', '"1e2"', '" 1"', "1E+2", "0.0000001", '"١"'];
const BAD_BASE64 = ["!!!", "abc", "a===", "====", "YQ", "YQ=", "Y Q = =", "-_-_", "\u00ff\u00fe", "%%%", "A".repeat(4097) + "=", "YWJj\nZGVm", "data:application/json;base64,e30="];
const TEXT_JUNK = ["{", "}", "[", "]", ",", ":", '"', "\\", "\\u", "\\ud800", "\u0000", "null", "\n", "/*", "1e", "-", "tru"];
const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80, 0x80], [0xfe, 0xff]];
const NON_OBJECTS = ["", "null", "[]", "[{}]", "0", '"x"', "true", " ", "\ufeff{}", "{}{}", "{} trailing", "// c\n{}"];

type Edit = (rng: Rng, root: Json) => Json | Buffer;

const VALUE_EDITS: Record<string, Edit> = {
  "wrong-type": (rng, root) => {
    const all = slots(root);
    if (all.length === 0) return wrongValue(rng);
    set(rng.pick(all), wrongValue(rng));
    return root;
  },
  "unknown-field": (rng, root) => {
    const objs = objects(root);
    if (objs.length === 0) return root;
    const key = rng.pick(["x", "unknownField", "__proto__", "constructor", "", "spec.name", "Name", "NAME", "function_", "\u0000", "💥"]);
    rng.pick(objs)[key] = wrongValue(rng);
    return root;
  },
  "snake-case": (_rng, root) => {
    // Protobuf JSON accepts both the JSON name and the proto name; both at once is a duplicate.
    for (const o of objects(root)) for (const k of Object.keys(o)) if (/[A-Z]/.test(k)) o[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = o[k];
    return root;
  },
  "huge-string": (rng, root) => {
    const all = slots(root).filter((s) => typeof s.value === "string");
    const big = "z".repeat(rng.pick([70_000, 1 << 20, 3 << 20]));
    if (all.length === 0) return root;
    set(rng.pick(all), big);
    return root;
  },
  "deep-nesting": (rng, root) => {
    // A value 100k levels deep, inline in the text: JSON.stringify could not write it.
    const depth = rng.pick([1_000, 100_000]);
    const shape = rng.pick(["array", "object"] as const);
    const all = slots(root);
    const marker = "\u0001DEEP\u0001";
    if (all.length === 0 || rng.chance(0.3)) return Buffer.from(deepText(depth, shape));
    set(rng.pick(all), marker);
    return Buffer.from(JSON.stringify(root).replace(JSON.stringify(marker), deepText(depth, shape)));
  },
  "odd-number": (rng, root) => {
    const all = slots(root).filter((s) => typeof s.value === "number" || (typeof s.key === "string" && /Ms$|Mb$|Concurrency$|workers$/.test(s.key)));
    const marker = "\u0001NUM\u0001";
    const objs = objects(root);
    if (all.length > 0) set(rng.pick(all), marker);
    else if (objs.length > 0) rng.pick(objs)[rng.pick(["waitMs", "limits", "batchWindowMs"])] = marker;
    else return root;
    return Buffer.from(JSON.stringify(root).replace(JSON.stringify(marker), rng.pick(ODD_NUMBERS)));
  },
  "invalid-base64": (rng, root) => {
    const all = slots(root).filter(looksBase64);
    const objs = objects(root);
    if (all.length > 0) set(rng.pick(all), rng.pick(BAD_BASE64));
    else if (objs.length > 0) rng.pick(objs).payload = rng.pick(BAD_BASE64);
    return root;
  },
  "remove-field": (rng, root) => {
    const all = slots(root).filter((s) => !Array.isArray(s.parent));
    if (all.length > 0) {
      const s = rng.pick(all);
      delete (s.parent as Record<string, Json>)[s.key as string];
    }
    return root;
  },
  "null-everywhere": (_rng, root) => {
    for (const s of slots(root)) set(s, null);
    return root;
  },
};

const TEXT_EDITS: Record<string, (rng: Rng, text: Buffer) => Buffer> = {
  "text-edit": (rng, text) => {
    let s = text.toString("latin1");
    for (let i = rng.int(1, 4); i > 0; i--) {
      const at = rng.int(0, s.length);
      const op = rng.int(0, 2);
      if (op === 0) s = s.slice(0, at) + rng.pick(TEXT_JUNK) + s.slice(at);
      else if (op === 1) s = s.slice(0, at) + s.slice(at + rng.int(1, 4));
      else s = s.slice(0, at) + String.fromCharCode(rng.int(0, 255)) + s.slice(at + 1);
    }
    return Buffer.from(s, "latin1");
  },
  "invalid-utf8": (rng, text) => {
    // Inside a string when there is one (where a lenient decoder would carry it into a field).
    const quotes = [...text.keys()].filter((i) => text[i] === 0x22);
    const at = quotes.length > 1 ? rng.pick(quotes.slice(1)) : rng.int(0, text.length);
    return Buffer.concat([text.subarray(0, at), Buffer.from(rng.pick(INVALID_UTF8)), text.subarray(at)]);
  },
  truncate: (rng, text) => text.subarray(0, text.length === 0 ? 0 : rng.int(0, text.length - 1)),
  "duplicate-key": (_rng, text) => {
    const s = text.toString("utf8");
    const m = /^\{("[^"]*":("[^"]*"|[^,}]*))/.exec(s);
    return m ? Buffer.from(`{${m[1]},${s.slice(1)}`) : text;
  },
  "non-object": (rng) => Buffer.from(rng.pick(NON_OBJECTS)),
  "random-bytes": (rng) => rng.bytes(rng.length(256)),
  "utf16": (_rng, text) => Buffer.from(text.toString("utf8"), "utf16le"),
};

const WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ["wrong-type", 12],
  ["unknown-field", 8],
  ["snake-case", 3],
  ["huge-string", 1.5],
  ["deep-nesting", 2],
  ["odd-number", 6],
  ["invalid-base64", 8],
  ["remove-field", 4],
  ["null-everywhere", 2],
  ["text-edit", 14],
  ["invalid-utf8", 8],
  ["truncate", 8],
  ["duplicate-key", 3],
  ["non-object", 4],
  ["random-bytes", 3],
  ["utf16", 1],
];

/** One or two mutations of the JSON of a message (`json`: its canonical JSON value, which is edited). */
export function mutateJson(rng: Rng, json: unknown): Mutated {
  const kinds: string[] = [];
  let root = json as Json;
  let text: Buffer | undefined;
  for (let i = rng.chance(0.2) ? 2 : 1; i > 0; i--) {
    let kind = rng.weighted(WEIGHTS);
    // Once the value is text, only text edits apply.
    if (kind in VALUE_EDITS && text !== undefined) kind = "text-edit";
    kinds.push(kind);
    if (kind in VALUE_EDITS) {
      const out = VALUE_EDITS[kind](rng, root);
      if (Buffer.isBuffer(out)) text = out;
      else root = out;
    } else {
      text = TEXT_EDITS[kind](rng, text ?? Buffer.from(JSON.stringify(root)));
    }
  }
  return { bytes: text ?? Buffer.from(JSON.stringify(root)), kind: kinds.join("+") };
}
