// The content address of a function version: what goes into its image. Limits are not part of it,
// so changing a memory limit or timeout does not rebuild the image.
import { createHash } from "node:crypto";
import type { FunctionCode, FunctionSpec } from "../gen/faas/common/v1/common_pb.js";

const sorted = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function functionDigest(spec: Pick<FunctionSpec, "runtime" | "entry" | "dependencies" | "env">, code: FunctionCode): string {
  const files = Object.keys(code.files)
    .sort()
    .map((p) => [p, createHash("sha256").update(code.files[p]).digest("hex")]);
  const canonical = JSON.stringify({
    runtime: spec.runtime,
    entry: spec.entry,
    dependencies: sorted(spec.dependencies),
    env: sorted(spec.env),
    files,
  });
  return `sha256:${createHash("sha256").update(canonical).digest("hex")}`;
}

/** A short form for image tags and logs. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 16);
}
