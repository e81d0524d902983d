// What protobuf-binary-encoder.ts and protobuf-binary-decoder.ts both need to know of the wire format
// and of protobuf-es's descriptors.
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";

// Wire types.
export const VARINT = 0;
export const BIT64 = 1;
export const LEN = 2;
export const START_GROUP = 3;
export const END_GROUP = 4;
export const BIT32 = 5;

/** The wire type a value of a scalar type is written in (enums are int32: VARINT). */
export function wireTypeOf(type: ScalarType): number {
  switch (type) {
    case ScalarType.BYTES:
    case ScalarType.STRING:
      return LEN;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return BIT64;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return BIT32;
    default:
      return VARINT;
  }
}

/** The message type a field holds: a message field's, a list's items', a map's values'; else undefined. */
export function messageOf(f: DescField): DescMessage | undefined {
  if (f.fieldKind === "message") return f.message;
  if (f.fieldKind === "list" && f.listKind === "message") return f.message;
  if (f.fieldKind === "map" && f.mapKind === "message") return f.message;
  return undefined;
}

/**
 * Whether protobuf-es may hold a field of this type in a JS form of its own rather than as a message
 * (wrappers unwrapped to their value, Struct as a JSON object, ...): the codecs leave those to protobuf-es.
 */
export function hasOwnJsForm(message: DescMessage): boolean {
  return message.typeName.startsWith("google.protobuf.");
}

/** A function that makes a value per message type once, by `make`, and returns the same one after. */
export function perMessageType<P>(make: (desc: DescMessage) => P): (desc: DescMessage) => P {
  const made = new WeakMap<DescMessage, P>();
  return (desc) => {
    let p = made.get(desc);
    if (p === undefined) {
      p = make(desc);
      made.set(desc, p);
    }
    return p;
  };
}
