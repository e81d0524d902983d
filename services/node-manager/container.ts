// The life of one container, as an explicit state machine (OpenWhisk's ContainerProxy idea): every state
// change goes through transition(), which checks it against the table and reports it to one listener
// (the node's event publisher). Nothing else assigns `state`.
import { StartKind } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState } from "../../gen/faas/events/v1/events_pb.js";
import type { Packages } from "./policies/policy.js";
import type { Sandbox } from "./sandbox/runtime.js";

export { ContainerRole, ContainerState };

/** The function a container serves, and its limits. A zygote or stem cell serves none (name ""). */
export interface Assignment {
  readonly functionName: string;
  readonly digest: string;
  readonly memoryMb: number;
  readonly maxConcurrency: number;
  /** The function's tenant ("" for none). */
  readonly tenant: string;
}

export const NO_FUNCTION: Assignment = { functionName: "", digest: "", memoryMb: 0, maxConcurrency: 0, tenant: "" };

const allowed: Record<ContainerState, readonly ContainerState[]> = {
  [ContainerState.UNSPECIFIED]: [ContainerState.STARTING, ContainerState.IDLE],
  [ContainerState.STARTING]: [ContainerState.BUSY, ContainerState.IDLE, ContainerState.REMOVING],
  // IDLE -> STARTING: a zygote or stem cell being lent, or an executor turning into a zygote.
  [ContainerState.IDLE]: [ContainerState.BUSY, ContainerState.STARTING, ContainerState.REMOVING],
  [ContainerState.BUSY]: [ContainerState.IDLE, ContainerState.REMOVING],
  [ContainerState.REMOVING]: [ContainerState.REMOVED],
  [ContainerState.REMOVED]: [],
};

export class IllegalTransition extends Error {}

export interface Transition {
  readonly container: Container;
  readonly from: ContainerState;
  readonly to: ContainerState;
  readonly reason: string;
}

export type TransitionListener = (t: Transition) => void;

export class Container {
  state: ContainerState = ContainerState.UNSPECIFIED;
  role: ContainerRole;
  functionName: string;
  digest: string;
  memoryMb: number;
  maxConcurrency: number;
  /** How it came to serve its current function: COLD (created for it), HELPER (lent), PREWARM (claimed stem cell). */
  startKind: StartKind;
  /** When it took its current role. */
  roleSince: number;
  /** For a zygote: the function whose executor it was. */
  formerFunction = "";
  /**
   * The tenant whose code has run in this container; "" while none has (a new zygote or stem cell). Kept
   * when an executor becomes a zygote: its template is clean, but the container (its kernel state, its
   * temp space, timing side channels) was that tenant's, so by default it is lent within the tenant only.
   */
  tenant: string;
  /** The package set its image holds, and the same as sorted "name@version" for events. */
  readonly packages: Packages;
  readonly packageList: readonly string[];
  /** Set once the sandbox is up (STARTING has none yet). */
  sandbox: Sandbox | undefined;
  /** Invocations running now, plus slots promised to callers waiting for this container to start. */
  inflight = 0;
  invocations = 0;
  lastUsedAt: number;
  /** Set when the container must go as soon as it is idle (its function was removed or replaced). */
  retiring = false;
  /** Set while a lent container's limit grows to its function's: it takes no invocation but its fork's rider. */
  resizing = false;

  constructor(
    /**
     * The platform's id of the container, known before Docker's exists: the STARTING event, later events,
     * records and ListContainers all name the container by it. Docker's id stays inside the sandbox.
     */
    readonly key: string,
    assignment: Assignment,
    role: ContainerRole,
    packages: Packages,
    readonly createdAt: number,
    private readonly onTransition: TransitionListener,
  ) {
    this.functionName = assignment.functionName;
    this.tenant = assignment.tenant;
    this.digest = assignment.digest;
    this.memoryMb = assignment.memoryMb;
    this.maxConcurrency = assignment.maxConcurrency;
    this.role = role;
    this.startKind = role === ContainerRole.EXECUTOR ? StartKind.COLD : StartKind.UNSPECIFIED;
    this.packages = packages;
    this.packageList = [...packages].map(([p, v]) => `${p}@${v}`).sort();
    this.lastUsedAt = createdAt;
    this.roleSince = createdAt;
  }

  /**
   * Gives the container another role and function (a zygote lent, an executor turned zygote). Published
   * with the state transition that follows, which the caller makes.
   */
  reassign(role: ContainerRole, assignment: Assignment, startKind: StartKind, now: number): void {
    if (role === ContainerRole.ZYGOTE && this.functionName) this.formerFunction = this.functionName;
    else if (role !== ContainerRole.ZYGOTE) this.formerFunction = "";
    this.role = role;
    this.functionName = assignment.functionName;
    if (assignment.tenant) this.tenant = assignment.tenant;
    this.digest = assignment.digest;
    this.memoryMb = assignment.memoryMb || this.memoryMb;
    this.maxConcurrency = assignment.maxConcurrency;
    this.startKind = startKind;
    this.roleSince = now;
  }

  /** Serves invocations of a function (an executor or a helper), as opposed to waiting to be lent. */
  get servesFunction(): boolean {
    return this.role === ContainerRole.EXECUTOR || this.role === ContainerRole.HELPER;
  }

  get id(): string {
    return this.key;
  }

  get hasCapacity(): boolean {
    return this.servesFunction && this.inflight < this.maxConcurrency && !this.retiring && !this.resizing;
  }

  transition(to: ContainerState, reason: string): void {
    const from = this.state;
    if (from === to) return;
    if (!allowed[from].includes(to)) {
      throw new IllegalTransition(`container ${this.id}: ${ContainerState[from]} -> ${ContainerState[to]} is not allowed (${reason})`);
    }
    this.state = to;
    this.onTransition({ container: this, from, to, reason });
  }
}
