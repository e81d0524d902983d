// A function's code sent as one archive (FunctionCode.archive): a .tar or .tar.gz of its directory, unpacked
// here into the path -> bytes map the rest of the platform knows. The reader is small and strict on purpose:
// ustar headers (POSIX and GNU), GNU long names, pax path/linkpath/size records, regular files, directories
// and symlinks that stay inside the function's directory (resolved into a copy of their target file).
// Everything else is refused with the entry at fault named: hard links, devices, FIFOs, absolute paths, '..',
// duplicates, a bad checksum, a truncated archive. Gzip is inflated with a bound on its output, so a
// compression bomb stops at the bound instead of being allocated.
import * as path from "node:path";
import * as zlib from "node:zlib";

export interface ArchiveBounds {
  /** Size of the archive as sent (compressed or not). */
  readonly maxArchiveBytes: number;
  /** Sum of the unpacked files' sizes, symlink copies included. */
  readonly maxUnpackedBytes: number;
  /** Files, directories and symlinks. Default MAX_ARCHIVE_ENTRIES. */
  readonly maxEntries?: number;
  /** Largest inflated/compressed ratio of a .tar.gz beyond RATIO_FLOOR_BYTES. Default MAX_COMPRESSION_RATIO. */
  readonly maxRatio?: number;
}

export const MAX_ARCHIVE_ENTRIES = 4000;
/** Deflate reaches ~1032:1 on zeros; source code compresses 3-10:1, a tar's padding makes small archives look better. */
export const MAX_COMPRESSION_RATIO = 100;
/** Below this much inflated output the ratio is not checked (a tiny archive is mostly zero padding). */
export const RATIO_FLOOR_BYTES = 1024 * 1024;
/** A pax header or GNU long name larger than this is not a path. */
const MAX_META_BYTES = 64 * 1024;
const MAX_PATH_CHARS = 1024;
/** How many symlinks a path may go through before it is taken for a loop. */
const MAX_LINK_HOPS = 8;
const BLOCK = 512;

/** What is wrong with an archive; entry names the entry at fault when there is one. */
export class CodeArchiveError extends Error {
  constructor(
    message: string,
    readonly entry?: string,
    /** A size bound rather than a malformed archive. */
    readonly tooLarge = false,
  ) {
    super(entry === undefined ? message : `entry ${JSON.stringify(entry.slice(0, 200))}: ${message}`);
  }
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Unpacks a .tar or .tar.gz (told apart by gzip's magic bytes) into relative '/'-separated paths and contents. */
export function unpackCodeArchive(archive: Uint8Array, bounds: ArchiveBounds): Record<string, Uint8Array> {
  if (archive.length > bounds.maxArchiveBytes) throw new CodeArchiveError(`the archive is ${archive.length} bytes, over the limit of ${bounds.maxArchiveBytes}`, undefined, true);
  const maxEntries = bounds.maxEntries ?? MAX_ARCHIVE_ENTRIES;
  // Headers, long names and padding on top of the contents: a few blocks per entry and the 10 KiB record.
  const maxTarBytes = bounds.maxUnpackedBytes + maxEntries * 4 * BLOCK + 20 * BLOCK;
  const tar = isGzip(archive) ? gunzipBounded(archive, maxTarBytes, bounds.maxRatio ?? MAX_COMPRESSION_RATIO) : archive;
  if (tar.length > maxTarBytes) throw new CodeArchiveError(`the tar is ${tar.length} bytes, more than ${bounds.maxUnpackedBytes} bytes of files can take`, undefined, true);
  return readTar(tar, bounds.maxUnpackedBytes, maxEntries);
}

function gunzipBounded(gz: Uint8Array, maxTarBytes: number, maxRatio: number): Uint8Array {
  const ratioBound = Math.max(RATIO_FLOOR_BYTES, gz.length * maxRatio);
  const limit = Math.min(maxTarBytes, ratioBound);
  try {
    // zlib stops and throws as soon as its output passes maxOutputLength: a bomb is never allocated.
    return zlib.gunzipSync(gz, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      if (limit === ratioBound && ratioBound < maxTarBytes) {
        throw new CodeArchiveError(`the gzip stream inflates more than ${maxRatio}:1 (past ${limit} bytes from ${gz.length}): refused as a compression bomb`, undefined, true);
      }
      throw new CodeArchiveError(`the gzip stream inflates past ${limit} bytes, more than the code limit allows`, undefined, true);
    }
    throw new CodeArchiveError(`not a valid gzip stream: ${(err as Error).message}`);
  }
}

interface Pending {
  path?: string;
  linkpath?: string;
  size?: number;
}

type Entry = { kind: "file"; data: Uint8Array } | { kind: "dir" } | { kind: "symlink"; target: string };

/** The strict tar reader: every header checked, every path normalised and checked before it is kept. */
export function readTar(tar: Uint8Array, maxUnpackedBytes: number, maxEntries = MAX_ARCHIVE_ENTRIES): Record<string, Uint8Array> {
  const entries = new Map<string, Entry>();
  let pending: Pending = {};
  let unpacked = 0;
  let headers = 0;
  let offset = 0;
  let ended = false;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) {
      ended = true;
      break;
    }
    if (++headers > 3 * maxEntries + 3) throw new CodeArchiveError(`more than ${maxEntries} entries`, undefined, true);
    const rawName = headerPath(header);
    const where = pending.path ?? rawName;
    checkChecksum(header, where);
    const type = String.fromCharCode(header[156]);
    const meta = type === "x" || type === "g" || type === "L" || type === "K";
    // A pax size is the next real entry's; a header's own size field counts for the long-name/pax data.
    const size = (meta ? undefined : pending.size) ?? octal(header, 124, 12, "size", where);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.length) throw new CodeArchiveError(`the archive is truncated (${size} bytes of content announced, ${Math.max(0, tar.length - dataStart)} present)`, where);
    const data = tar.subarray(dataStart, dataEnd);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (meta) {
      if (size > MAX_META_BYTES) throw new CodeArchiveError(`a ${type === "x" || type === "g" ? "pax" : "GNU long-name"} header of ${size} bytes`, where, true);
      if (type === "x") pending = { ...pending, ...parsePax(data, where) };
      else if (type === "L") pending.path = cString(data);
      else if (type === "K") pending.linkpath = cString(data);
      // "g": global pax records (git archive's commit comment); nothing in them applies to the code.
      continue;
    }

    const name = pending.path ?? rawName;
    const linkname = pending.linkpath ?? cString(header.subarray(157, 257));
    pending = {};
    const kind = entryKind(type, name);
    if (kind !== "file" && size !== 0) throw new CodeArchiveError(`a ${kind} entry with ${size} bytes of content`, name);
    const rel = normalisePath(name, kind === "dir");
    if (rel === undefined) continue; // "./": the function's directory itself
    if (entries.has(rel)) throw new CodeArchiveError("appears twice in the archive", name);
    if (entries.size >= maxEntries) throw new CodeArchiveError(`more than ${maxEntries} entries`, name, true);
    if (kind === "file") {
      unpacked += size;
      if (unpacked > maxUnpackedBytes) throw new CodeArchiveError(`unpacked files exceed ${maxUnpackedBytes} bytes`, name, true);
      entries.set(rel, { kind, data });
    } else if (kind === "dir") {
      entries.set(rel, { kind });
    } else {
      entries.set(rel, { kind, target: checkLinkTarget(rel, linkname, name) });
    }
  }
  if (!ended) throw new CodeArchiveError("the archive is truncated: no end-of-archive block");
  for (let i = offset; i < tar.length; i++) {
    if (tar[i] !== 0) throw new CodeArchiveError(`data after the end-of-archive block (at byte ${i})`);
  }
  if (pending.path !== undefined || pending.linkpath !== undefined || pending.size !== undefined) {
    throw new CodeArchiveError("the archive ends with a long-name or pax header that belongs to no entry", pending.path);
  }
  checkNoFileIsADirectory(entries);

  const files: Record<string, Uint8Array> = {};
  for (const [rel, e] of entries) {
    if (e.kind === "file") files[rel] = e.data;
  }
  for (const [rel, e] of entries) {
    if (e.kind !== "symlink") continue;
    const data = resolveLink(entries, rel);
    // A copy costs as much as the file it copies: many links to one big file would otherwise multiply it.
    unpacked += data.length;
    if (unpacked > maxUnpackedBytes) throw new CodeArchiveError(`unpacked files (symlinks resolved into copies) exceed ${maxUnpackedBytes} bytes`, rel, true);
    files[rel] = data;
  }
  return files;
}

function entryKind(type: string, name: string): Entry["kind"] {
  switch (type) {
    case "0":
    case "\0":
      return "file";
    case "5":
      return "dir";
    case "2":
      return "symlink";
    case "1":
      throw new CodeArchiveError("hard links are not allowed", name);
    case "3":
    case "4":
      throw new CodeArchiveError("device files are not allowed", name);
    case "6":
      throw new CodeArchiveError("FIFOs are not allowed", name);
    default:
      throw new CodeArchiveError(`unsupported entry type ${JSON.stringify(type)}`, name);
  }
}

/** The entry's path relative to the function's directory, undefined for the directory itself; throws when it would leave it. */
function normalisePath(name: string, isDir: boolean): string | undefined {
  if (name.length === 0) throw new CodeArchiveError("an entry without a name");
  if (name.includes("\0") || name.includes("\\")) throw new CodeArchiveError("path must not contain NUL or '\\'", name);
  if (name.startsWith("/")) throw new CodeArchiveError("absolute paths are not allowed", name);
  let rel = name;
  while (rel.startsWith("./")) rel = rel.slice(2);
  if (isDir) rel = rel.replace(/\/+$/, "");
  if (rel === "" || rel === ".") {
    if (isDir) return undefined;
    throw new CodeArchiveError("a file named like the function's directory", name);
  }
  if (rel.length > MAX_PATH_CHARS) throw new CodeArchiveError(`path longer than ${MAX_PATH_CHARS} characters`, name);
  for (const segment of rel.split("/")) {
    if (segment === "..") throw new CodeArchiveError("'..' would leave the function's directory", name);
    if (segment === "" || segment === ".") throw new CodeArchiveError("path must not have empty or '.' segments", name);
  }
  return rel;
}

/** A symlink's target as a path relative to the function's directory; throws when it points outside. */
function checkLinkTarget(rel: string, target: string, name: string): string {
  if (target.length === 0) throw new CodeArchiveError("symlink without a target", name);
  if (target.includes("\0")) throw new CodeArchiveError("symlink target contains NUL", name);
  if (target.startsWith("/")) throw new CodeArchiveError(`symlink to the absolute path ${JSON.stringify(target.slice(0, 200))} leaves the function's directory`, name);
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
  if (resolved === ".." || resolved.startsWith("../")) throw new CodeArchiveError(`symlink to ${JSON.stringify(target.slice(0, 200))} leaves the function's directory`, name);
  if (resolved === ".") throw new CodeArchiveError("symlink to the function's directory itself", name);
  return resolved;
}

/** The content a symlink ends at: a regular file of the archive, through at most MAX_LINK_HOPS links. */
function resolveLink(entries: ReadonlyMap<string, Entry>, from: string): Uint8Array {
  let at = from;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const e = entries.get(at);
    if (!e || e.kind !== "symlink") throw new Error("unreachable");
    const target = entries.get(e.target);
    if (!target) throw new CodeArchiveError(`symlink target ${JSON.stringify(e.target)} is not a file in the archive`, from);
    if (target.kind === "dir") throw new CodeArchiveError(`symlink to the directory ${JSON.stringify(e.target)}: only links to files are resolved`, from);
    if (target.kind === "file") return target.data;
    at = e.target;
  }
  throw new CodeArchiveError(`more than ${MAX_LINK_HOPS} symlinks in a row (a loop?)`, from);
}

/** "a" a file and "a/b" another entry cannot both be unpacked. */
function checkNoFileIsADirectory(entries: ReadonlyMap<string, Entry>): void {
  for (const rel of entries.keys()) {
    for (let i = rel.indexOf("/"); i >= 0; i = rel.indexOf("/", i + 1)) {
      const parent = entries.get(rel.slice(0, i));
      if (parent && parent.kind !== "dir") throw new CodeArchiveError(`its parent ${JSON.stringify(rel.slice(0, i))} is a ${parent.kind}, not a directory`, rel);
    }
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  try {
    return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
  } catch {
    throw new CodeArchiveError("a name that is not UTF-8");
  }
}

/** name, joined to prefix in a POSIX ustar header (GNU's magic puts other fields where prefix would be). */
function headerPath(h: Uint8Array): string {
  const magic = String.fromCharCode(...h.subarray(257, 263));
  if (magic !== "ustar\0" && magic !== "ustar ") throw new CodeArchiveError("not a tar archive (no ustar header; only .tar and .tar.gz are accepted)");
  const name = cString(h.subarray(0, 100));
  if (magic === "ustar\0") {
    const prefix = cString(h.subarray(345, 500));
    if (prefix) return `${prefix}/${name}`;
  }
  return name;
}

function octal(h: Uint8Array, at: number, len: number, field: string, entry: string): number {
  if (h[at] & 0x80) throw new CodeArchiveError(`${field} in base-256 (over 8 GiB)`, entry, true);
  const text = String.fromCharCode(...h.subarray(at, at + len)).replace(/[\0 ]+$/, "").replace(/^ +/, "");
  if (!/^[0-7]*$/.test(text)) throw new CodeArchiveError(`malformed ${field} field ${JSON.stringify(text)}`, entry);
  return text === "" ? 0 : parseInt(text, 8);
}

function checkChecksum(h: Uint8Array, entry: string): void {
  const expected = octal(h, 148, 8, "checksum", entry);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  if (sum !== expected) throw new CodeArchiveError(`header checksum mismatch (${expected} recorded, ${sum} computed): corrupt archive`, entry);
}

/** pax records "<len> <key>=<value>\n"; only path, linkpath and size matter to the code. */
function parsePax(data: Uint8Array, entry: string): Pending {
  const out: Pending = {};
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // NUL padding after the last record
    const space = data.indexOf(0x20, at);
    const lenText = space > at ? String.fromCharCode(...data.subarray(at, space)) : "";
    const len = /^[1-9][0-9]{0,6}$/.test(lenText) ? Number(lenText) : NaN;
    if (!Number.isFinite(len) || at + len > data.length || data[at + len - 1] !== 0x0a) throw new CodeArchiveError("malformed pax header record", entry);
    let record: string;
    try {
      record = decoder.decode(data.subarray(space + 1, at + len - 1));
    } catch {
      throw new CodeArchiveError("a pax header that is not UTF-8", entry);
    }
    const eq = record.indexOf("=");
    if (eq <= 0) throw new CodeArchiveError("malformed pax header record", entry);
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === "path") out.path = value;
    else if (key === "linkpath") out.linkpath = value;
    else if (key === "size") {
      if (!/^[0-9]{1,16}$/.test(value)) throw new CodeArchiveError(`malformed pax size ${JSON.stringify(value.slice(0, 40))}`, entry);
      out.size = Number(value);
    }
    at += len;
  }
  return out;
}
