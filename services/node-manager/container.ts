// The life of one container, as an explicit state machine (OpenWhisk's ContainerProxy idea): every state
// change goes through transition(), which checks it against the table and reports it to one listener
// (the node's event publisher). Nothing else assigns `state`.
import { ContainerRole, ContainerState } from "../../gen/faas/events/v1/events_pb.js";
import type { Sandbox } from "./sandbox/runtime.js";

export { ContainerRole, ContainerState };

const allowed: Record<ContainerState, readonly ContainerState[]> = {
  [ContainerState.UNSPECIFIED]: [ContainerState.STARTING, ContainerState.IDLE],
  [ContainerState.STARTING]: [ContainerState.BUSY, ContainerState.IDLE, ContainerState.REMOVING],
  [ContainerState.IDLE]: [ContainerState.BUSY, ContainerState.REMOVING],
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
  role: ContainerRole = ContainerRole.EXECUTOR;
  /** Set once the sandbox is up (STARTING has none yet). */
  sandbox: Sandbox | undefined;
  /** Invocations running now, plus slots promised to callers waiting for this container to start. */
  inflight = 0;
  invocations = 0;
  lastUsedAt: number;
  /** Set when the container must go as soon as it is idle (its function was removed or replaced). */
  retiring = false;

  constructor(
    /**
     * The platform's id of the container, known before Docker's exists: the STARTING event, later events,
     * records and ListContainers all name the container by it. Docker's id stays inside the sandbox.
     */
    readonly key: string,
    readonly functionName: string,
    readonly digest: string,
    readonly memoryMb: number,
    readonly maxConcurrency: number,
    readonly createdAt: number,
    private readonly onTransition: TransitionListener,
  ) {
    this.lastUsedAt = createdAt;
  }

  get id(): string {
    return this.key;
  }

  get hasCapacity(): boolean {
    return this.inflight < this.maxConcurrency && !this.retiring;
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
