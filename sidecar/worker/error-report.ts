// Turns whatever a function threw into a FunctionError: its type, message and a stack trimmed to the
// function's own frames (no Node internals, no frames of the worker bundle), bounded in frames and bytes.
import type { ErrorReport } from "../ipc-messages.js";

export const MAX_STACK_FRAMES = 20;
export const MAX_STACK_BYTES = 4096;
export const MAX_MESSAGE_BYTES = 4096;

const FRAME = /^\s+at\s/;
const NODE_INTERNAL_FRAME = /[\s(]node:|[\s(]internal\//;

/** Cuts a string to at most maxBytes of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const marker = "…";
  let cut = text.slice(0, maxBytes);
  while (Buffer.byteLength(cut) + Buffer.byteLength(marker) > maxBytes) cut = cut.slice(0, -1);
  // Do not leave half of a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + marker;
}

/**
 * Keeps the header lines (message, and for SyntaxErrors the file:line and caret lines) and the frames that
 * are neither Node internals nor in one of hiddenFiles, up to MAX_STACK_FRAMES frames and MAX_STACK_BYTES.
 */
export function trimStack(stack: string, hiddenFiles: readonly string[]): string {
  const kept: string[] = [];
  let bytes = 0;
  let frames = 0;
  let dropped = 0;
  for (const line of stack.split("\n")) {
    const isFrame = FRAME.test(line);
    if (isFrame && (NODE_INTERNAL_FRAME.test(line) || hiddenFiles.some((f) => f !== "" && line.includes(f)))) continue;
    const lineBytes = Buffer.byteLength(line) + 1;
    if ((isFrame && frames >= MAX_STACK_FRAMES) || bytes + lineBytes > MAX_STACK_BYTES) {
      if (isFrame) dropped++;
      else if (kept.length === 0) kept.push(truncateUtf8(line, MAX_STACK_BYTES - 64));
      continue;
    }
    kept.push(line);
    bytes += lineBytes;
    if (isFrame) frames++;
  }
  while (kept.length > 0 && kept[kept.length - 1].trim() === "") kept.pop();
  if (dropped > 0) {
    const note = `    ... ${dropped} more frame${dropped === 1 ? "" : "s"}`;
    while (kept.length > 1 && bytes + note.length + 1 > MAX_STACK_BYTES) bytes -= Buffer.byteLength(kept.pop()!) + 1;
    kept.push(note);
  }
  return kept.join("\n");
}

function isErrorLike(value: unknown): value is Error {
  if (value instanceof Error) return true;
  // An Error from another realm (vm contexts) fails instanceof but has the same shape.
  return typeof value === "object" && value !== null && typeof (value as Error).message === "string" && typeof (value as Error).stack === "string";
}

/** Non-Error throws ("throw 'boom'", "throw {code: 1}") become type "Error" with the value as text. */
export function stringifyThrown(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    // circular or BigInt: fall back to String()
  }
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function describeThrown(value: unknown, hiddenFiles: readonly string[]): ErrorReport {
  if (!isErrorLike(value)) return { type: "Error", message: truncateUtf8(stringifyThrown(value), MAX_MESSAGE_BYTES), stack: "" };
  let type = "Error";
  try {
    type = value.constructor?.name || value.name || "Error";
  } catch {
    // a hostile getter: keep "Error"
  }
  let message = "";
  let stack = "";
  try {
    message = String(value.message);
    stack = typeof value.stack === "string" ? value.stack : "";
  } catch {
    // same
  }
  return { type, message: truncateUtf8(message, MAX_MESSAGE_BYTES), stack: trimStack(stack, hiddenFiles) };
}
