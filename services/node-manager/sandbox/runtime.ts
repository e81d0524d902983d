// The container-runtime interface of a node, kept as small as OpenLambda's sandbox verbs:
// create, destroy, pause, unpause, channel, plus update (resize a lent zygote), inject (put a function's
// code into a running container) and list (adopt containers after a restart).
// The pool and the policies only ever see this interface; Docker lives behind it.
import type { Client } from "@connectrpc/connect";
import type { SidecarService } from "../../../gen/faas/sidecar/v1/sidecar_pb.js";

export interface SandboxSpec {
  readonly image: string;
  readonly memoryMb: number;
  /** Labels that let a restarted node-manager find and adopt the container. */
  readonly labels: Record<string, string>;
  /** Environment of the sidecar (the function's own env travels inside FAAS_FUNCTION_ENV). */
  readonly env: Record<string, string>;
  /** CPU limit in CPUs; absent: the runtime's default. */
  readonly cpus?: number;
  /** Join the host's network instead of having none (FunctionSpec.host_network, allowed by the operator). */
  readonly hostNetwork?: boolean;
  /**
   * The whole container as the unprivileged function user with no capability (CONTAINER_NON_ROOT): its
   * sidecar cannot give workers uids of their own, so such a container is never made a zygote or lent.
   */
  readonly nonRoot?: boolean;
}

export interface Sandbox {
  /** Docker container id. */
  readonly id: string;
  readonly labels: Record<string, string>;
  /** Host path of the sidecar's Unix socket. */
  readonly socketPath: string;
  readonly running: boolean;
}

export interface Channel {
  readonly client: Client<typeof SidecarService>;
  close(): void;
}

export interface SandboxRuntime {
  /** Creates and starts a container; resolves once its sidecar accepts calls on the socket. */
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Stops and removes the container and its socket directory. Never throws for an already-gone container. */
  destroy(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  /** Changes the container's memory limit, and its CPU limit when given (a zygote lent to a function gets the function's). */
  update(id: string, memoryMb: number, cpus?: number): Promise<void>;
  /**
   * Copies a host directory into the running container (its bind-mounted run directory) under a fresh
   * name; resolves with the path inside the container.
   */
  inject(sandbox: Sandbox, hostDir: string): Promise<string>;
  /** A gRPC client to the sidecar of the container. */
  channel(sandbox: Sandbox): Channel;
  /** Containers carrying all of the given labels. */
  list(labels: Record<string, string>): Promise<Sandbox[]>;
}
