// The Docker labels node-manager puts on its images and containers: how a restarted node-manager finds
// what it prepared and started, and adopts or removes it.
export const LABELS = {
  /** The node that owns a container. */
  node: "faas.node",
  /** The function an image or container runs. */
  function: "faas.function",
  /** The function version (content digest). */
  digest: "faas.digest",
  /** The platform's id of a container (events, records), known before Docker's. */
  container: "faas.container",
  /** A function image's spec, protobuf in base64. */
  spec: "faas.spec",
  /** A container started without a function: "stem-cell" or "zygote". */
  role: "faas.role",
  /** The name of a container's socket directory under the node's run dir. */
  socketDir: "faas.socket-dir",
} as const;
