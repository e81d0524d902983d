// Publishes the node's facts on NATS: every container transition (with a per-node sequence number so
// consumers can drop duplicates and see gaps) and a periodic heartbeat carrying the node's load.
import { create } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import { nowUnixUs } from "../../common/clock.js";
import { publishEvent, subjects } from "../../common/nats.js";
import { sampledTraceparent } from "../../common/trace-context.js";
import { ContainerStateChangedSchema, NodeHeartbeatSchema, type ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import { ContainerState, type Transition } from "./container.js";
import type { ContainerPool } from "./pool.js";

export class NodeEvents {
  private sequence = 0n;
  /** Transitions not yet published: they go out after the current turn, in order. */
  private pending: { event: ContainerStateChanged; traceparent: string }[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly nodeId: string,
  ) {}

  /**
   * Published a turn later: transitions happen on an invocation's path (a lent container goes STARTING
   * then BUSY before its answer), and the publish, with what it wakes in every subscriber on a small
   * machine, would otherwise be paid by that answer. Sequence and time are taken now.
   */
  containerChanged(t: Transition): void {
    const c = t.container;
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push({
      // Taken now, on the invocation's path: the publish is a turn later, outside its context.
      traceparent: sampledTraceparent(),
      event: create(ContainerStateChangedSchema, {
        nodeId: this.nodeId,
        containerId: c.id,
        function: c.functionName,
        role: c.role,
        state: t.to,
        previousState: t.from,
        memoryMb: c.memoryMb,
        atUnixUs: nowUnixUs(),
        reason: t.reason,
        sequence: ++this.sequence,
        packages: c.packageList as string[],
        startKind: c.startKind,
      }),
    });
  }

  /** Publishes the pending transitions now (the scheduled flush then finds nothing); before NATS is drained. */
  flush(): void {
    const events = this.pending;
    this.pending = [];
    for (const e of events) publishEvent(this.nc, subjects.containers(this.nodeId), ContainerStateChangedSchema, e.event, e.traceparent);
  }

  heartbeat(pool: ContainerPool, address: string): void {
    const all = pool.all();
    const warm = new Set(all.filter((c) => c.state === ContainerState.IDLE).map((c) => c.functionName));
    publishEvent(
      this.nc,
      subjects.nodes(this.nodeId),
      NodeHeartbeatSchema,
      create(NodeHeartbeatSchema, {
        nodeId: this.nodeId,
        address,
        memoryCapacityMb: pool.view().memoryCapacityMb,
        memoryReservedMb: pool.reservedMb,
        containers: all.length,
        inflight: pool.inflight,
        warmFunctions: [...warm],
        atUnixUs: nowUnixUs(),
      }),
    );
  }
}
