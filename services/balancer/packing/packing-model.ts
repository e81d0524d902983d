// What the planner is fed, kept current: S(n) for the cluster and E(d) per function, each starting from a
// profiling run (PACKING_PROFILE, written by `loadgen/burst.js --profile`) when there is one, and refined
// from the batches the balancer sees: a container that ran d members of one piece served them in the
// slowest one's execution time, an E(d) sample; a batch that started n containers COLD had them all up
// after the slowest start-up, an S(n) sample; a batch cut into more pieces than the containers that
// served it met the cluster's cap on instances, which the planner then plans within.
import * as fs from "node:fs";
import { MeasuredCurve, type CurvePoint } from "./curve.js";
import { checkCpuCapacity, planPacking, type CpuCapacity, type PackingPlan, type PackingSettings } from "./planner.js";

export interface PackingProfile {
  /** S(n): seconds to bring up n instances. */
  readonly scaling: readonly CurvePoint[];
  /** E(d) per function name: seconds one instance takes to serve d invocations. */
  readonly service: Readonly<Record<string, readonly CurvePoint[]>>;
  /** The most instances one burst got (the profiling run asked for more); absent: no cap was met. */
  readonly maxInstances?: number;
  /**
   * h, seconds a piece costs in a burst beyond its service time alone: the profiling run's burst of single
   * invocations, its billed execution per invocation less E(1). Absent: 0 (ProPack's model).
   */
  readonly pieceOverhead?: number;
  /**
   * The node's CPU: its cores and the CPU-seconds an instance's start-up, a piece and an invocation took in
   * the profiling run's bursts. Absent: the CPUs are not modelled (ProPack's model).
   */
  readonly cpu?: CpuCapacity;
  /** R(d) per function name: seconds from one piece of d to the next on one instance in a burst. */
  readonly round?: Readonly<Record<string, readonly CurvePoint[]>>;
  /** B(d) per function name: seconds a piece of d is billed for in a burst (measured with R(d)). */
  readonly billed?: Readonly<Record<string, readonly CurvePoint[]>>;
}

/** Weight of a live observation against what the curve held at that point. */
export const LIVE_ALPHA = 0.3;

export class PackingModel {
  #scaling: MeasuredCurve | undefined;
  readonly #service: Map<string, MeasuredCurve>;
  #maxInstances: number | undefined;
  readonly #pieceOverheadS: number | undefined;
  readonly #cpu: CpuCapacity | undefined;
  readonly #round: ReadonlyMap<string, MeasuredCurve>;
  readonly #billed: ReadonlyMap<string, MeasuredCurve>;

  constructor(profile?: PackingProfile) {
    if (profile?.scaling.length) this.#scaling = new MeasuredCurve(profile.scaling);
    if (profile?.maxInstances !== undefined) {
      if (!(Number.isInteger(profile.maxInstances) && profile.maxInstances >= 1)) throw new RangeError(`a profile's maxInstances must be a positive integer, got ${profile.maxInstances}`);
      this.#maxInstances = profile.maxInstances;
    }
    if (profile?.pieceOverhead !== undefined) {
      if (!(Number.isFinite(profile.pieceOverhead) && profile.pieceOverhead >= 0)) throw new RangeError(`a profile's pieceOverhead must be a time ≥ 0 in seconds, got ${profile.pieceOverhead}`);
      this.#pieceOverheadS = profile.pieceOverhead;
    }
    if (profile?.cpu) {
      checkCpuCapacity(profile.cpu);
      this.#cpu = { cores: profile.cpu.cores, instanceS: profile.cpu.instanceS, pieceS: profile.cpu.pieceS, invocationS: profile.cpu.invocationS };
    }
    this.#service = curvesByName(profile?.service);
    this.#round = curvesByName(profile?.round);
    this.#billed = curvesByName(profile?.billed);
  }

  static fromFile(file: string): PackingModel {
    let profile: PackingProfile;
    try {
      profile = JSON.parse(fs.readFileSync(file, "utf8")) as PackingProfile;
    } catch (err) {
      throw new Error(`cannot read the packing profile ${file}: ${(err as Error).message}`);
    }
    if (!Array.isArray(profile.scaling) || typeof profile.service !== "object") throw new Error(`${file} is not a packing profile ({ scaling: [...], service: { fn: [...] } })`);
    return new PackingModel(profile);
  }

  get scaling(): MeasuredCurve | undefined {
    return this.#scaling;
  }

  /** The cap on instances per burst last met; undefined while none was. */
  get maxInstances(): number | undefined {
    return this.#maxInstances;
  }

  /** h, the measured piece overhead in seconds; undefined without a profile that has it. */
  get pieceOverhead(): number | undefined {
    return this.#pieceOverheadS;
  }

  /** The node's CPU as measured by the profile; undefined without one that has it. */
  get cpu(): CpuCapacity | undefined {
    return this.#cpu;
  }

  /** R(d) of fn as the profile measured it; undefined without one. */
  round(fn: string): MeasuredCurve | undefined {
    return this.#round.get(fn);
  }

  /** B(d) of fn as the profile measured it; undefined without one. */
  billed(fn: string): MeasuredCurve | undefined {
    return this.#billed.get(fn);
  }

  service(fn: string): MeasuredCurve | undefined {
    return this.#service.get(fn);
  }

  observeService(fn: string, degree: number, seconds: number): void {
    if (!(degree >= 1 && seconds >= 0)) return;
    const e = this.#service.get(fn);
    this.#service.set(fn, e ? e.refined(degree, seconds, LIVE_ALPHA) : new MeasuredCurve([{ x: degree, y: seconds }]));
  }

  observeScaling(instances: number, seconds: number): void {
    if (!(instances >= 1 && seconds >= 0)) return;
    this.#scaling = this.#scaling ? this.#scaling.refined(instances, seconds, LIVE_ALPHA) : new MeasuredCurve([{ x: instances, y: seconds }]);
  }

  /**
   * A batch of `pieces` pieces was served by `containers` distinct containers. Fewer containers than
   * pieces: the cluster's cap was met, and it is that many now (it moves with the node's load). As many:
   * no cap was met, but one at least that high holds.
   */
  observeInstances(pieces: number, containers: number): void {
    if (!(pieces >= 1 && containers >= 1)) return;
    if (containers < pieces) this.#maxInstances = containers;
    else if (this.#maxInstances !== undefined && containers > this.#maxInstances) this.#maxInstances = containers;
  }

  /** The plan for m invocations of fn, or why there is none yet. */
  /** batchSize: the dispatch's batch bound, which cuts the invocations before the degree does (undefined: none). */
  plan(fn: string, invocations: number, memoryMb: number, maxDegree: number, settings: Partial<PackingSettings> = {}, batchSize?: number): PackingPlan | { missing: string } {
    const service = this.#service.get(fn);
    if (!this.#scaling) return { missing: "no S(n) measured yet (no profile, and no batch has started containers)" };
    if (!service) return { missing: `no E(d) measured yet for ${fn}` };
    return planPacking({ invocations, scaling: this.#scaling, service, memoryMb, maxDegree, maxInstances: this.#maxInstances, pieceOverheadS: this.#pieceOverheadS, cpu: this.#cpu, round: this.#round.get(fn), billed: this.#billed.get(fn), batchSize }, settings);
  }
}

/** A profile's per-function curves (functions without a measured point left out). */
function curvesByName(record: Readonly<Record<string, readonly CurvePoint[]>> | undefined): Map<string, MeasuredCurve> {
  const out = new Map<string, MeasuredCurve>();
  for (const [name, points] of Object.entries(record ?? {})) if (points.length) out.set(name, new MeasuredCurve(points));
  return out;
}
