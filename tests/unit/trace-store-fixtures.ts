// Builders for trace-store tests: records and events with defaults, and a SQLite file in a fresh temp directory.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { InvocationStatus, StartKind, TimingsSchema } from "../../gen/faas/common/v1/common_pb.js";
import { ContainerRole, ContainerState, ContainerStateChangedSchema, type ContainerStateChanged } from "../../gen/faas/events/v1/events_pb.js";
import { InvocationRecordSchema, type InvocationRecord } from "../../gen/faas/tracestore/v1/trace_store_pb.js";

export const SECOND_US = 1_000_000;
/** 2024-01-01T00:00:00Z in Unix µs: realistic magnitudes for the stored instants. */
export const T0_US = 1_704_067_200 * SECOND_US;

export interface TimingsUs {
  queued: number;
  startup: number;
  init: number;
  exec: number;
  total: number;
}

export function timings(t: Partial<TimingsUs> & { total: number }) {
  return create(TimingsSchema, {
    queuedUs: BigInt(t.queued ?? 0),
    startupUs: BigInt(t.startup ?? 0),
    initUs: BigInt(t.init ?? 0),
    execUs: BigInt(t.exec ?? 0),
    totalUs: BigInt(t.total),
  });
}

export function invocation(id: string, overrides: Partial<Omit<InvocationRecord, "$typeName">> = {}): InvocationRecord {
  return create(InvocationRecordSchema, {
    invocationId: id,
    function: "resize",
    nodeId: "node-1",
    containerId: "c1",
    startKind: StartKind.WARM,
    status: InvocationStatus.OK,
    timings: timings({ total: 1000, exec: 900 }),
    receivedAtUnixUs: BigInt(T0_US),
    ...overrides,
  });
}

export function containerEvent(
  sequence: number,
  atUs: number,
  state: ContainerState,
  overrides: Partial<Omit<ContainerStateChanged, "$typeName">> = {},
): ContainerStateChanged {
  return create(ContainerStateChangedSchema, {
    nodeId: "node-1",
    containerId: "c1",
    function: "resize",
    role: ContainerRole.EXECUTOR,
    state,
    memoryMb: 256,
    atUnixUs: BigInt(atUs),
    reason: "test",
    sequence: BigInt(sequence),
    ...overrides,
  });
}

/** A new temp directory; remove it with removeTempDir. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
