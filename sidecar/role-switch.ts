// What this container is right now, and the two moves between its roles:
//   FUNCTION (a FunctionSupervisor runs one function) --BecomeZygote--> ZYGOTE (only a template worker)
//   ZYGOTE --Fork(g)--> FUNCTION(g), the template having become g's worker; a new template starts behind it.
// A stem cell (no configured function) boots as a ZYGOTE. Moves are serialised: a Fork racing a
// BecomeZygote sees the role the other one left.
import { performance } from "node:perf_hooks";
import type { Logger } from "../common/logger.js";
import { SidecarRole } from "../gen/faas/sidecar/v1/sidecar_pb.js";
import type { FunctionLoad } from "./function-load.js";
import { FunctionSupervisor, StoppingError } from "./supervisor.js";
import type { TemplateKeeper } from "./template-keeper.js";
import { waitAtMost } from "./wait-at-most.js";
import { heapLimitMb } from "./worker-exit.js";
import type { WorkerIsolation } from "./worker-isolation.js";

/** How long Fork and BecomeZygote wait for a template that is still importing the package set. */
export const TEMPLATE_WAIT_MS = 30_000;

/** At most this long after a fork without an invocation, the replacement template starts anyway. */
export const REPLACEMENT_WAIT_MS = 1000;
/** How long after the forked function's first invocation ended its replacement template starts. */
export const REPLACEMENT_DELAY_MS = 100;

/** The call does not fit the current role (Run on a zygote, Fork on a function). */
export class WrongRoleError extends Error {}

/** The template became the function's worker but the function's module did not import. */
export class ForkFailedError extends Error {}

export interface RoleSwitchOptions {
  readonly workerScript: string;
  readonly logger: Logger;
  readonly isolation: WorkerIsolation;
  readonly templates: TemplateKeeper;
  /** The container's configured function; absent for a stem cell. */
  readonly configured: FunctionLoad | undefined;
}

export interface BecomeZygoteResult {
  readonly templatePid: number;
  readonly templateReadyUs: number;
  readonly workersEnded: number;
}

export interface ForkResult {
  readonly workerPid: number;
  /** From receivedAt to the function's module imported. */
  readonly forkUs: number;
  readonly initUs: number;
}

export class RoleSwitch {
  #supervisor: FunctionSupervisor | undefined;
  #moves: Promise<unknown> = Promise.resolve();
  #stopping = false;

  constructor(private readonly o: RoleSwitchOptions) {}

  get role(): SidecarRole {
    return this.#supervisor ? SidecarRole.FUNCTION : SidecarRole.ZYGOTE;
  }

  /** The function's supervisor while the role is FUNCTION. */
  get supervisor(): FunctionSupervisor | undefined {
    return this.#supervisor;
  }

  get templates(): TemplateKeeper {
    return this.o.templates;
  }

  /** The supervisor for Run and LoadFunction; a zygote runs no function. */
  serving(): FunctionSupervisor {
    if (this.#stopping) throw new StoppingError("the sidecar is stopping");
    const supervisor = this.#supervisor;
    if (!supervisor) throw new WrongRoleError("this container is a zygote: it runs no function until Fork hands its template worker to one");
    return supervisor;
  }

  /** Boot: the configured function's worker, or for a stem cell the template. */
  start(): void {
    const configured = this.o.configured;
    if (!configured) {
      this.o.templates.ensure();
      return;
    }
    const identity = this.o.isolation.functionIdentity();
    this.o.isolation.giveCodeDir(configured.codeDir, identity);
    this.#supervisor = new FunctionSupervisor({ load: configured, workerScript: this.o.workerScript, logger: this.o.logger, identity });
    this.#supervisor.start();
  }

  /**
   * In place: the function's workers are killed (with everything left under their uid), their directory
   * removed, and a ready template kept. Already a zygote: just makes sure the template is there.
   */
  becomeZygote(reason: string): Promise<BecomeZygoteResult> {
    return this.#serialised(async () => {
      const supervisor = this.#supervisor;
      // The template's import overlaps with ending the function's worker.
      this.o.templates.ensure();
      let workersEnded = 0;
      if (supervisor) {
        this.#supervisor = undefined;
        this.o.logger.info({ function: supervisor.load.functionName, reason }, "becoming a zygote");
        workersEnded = await supervisor.stop();
        if (supervisor.identity) this.o.isolation.release(supervisor.identity);
      }
      const { worker, waitedUs } = await this.o.templates.waitReady(TEMPLATE_WAIT_MS);
      return { templatePid: worker.pid, templateReadyUs: waitedUs, workersEnded };
    });
  }

  /**
   * Hands the ready template to load's function: the code directory becomes the template's uid's only,
   * the template replaces its env, enters the directory and imports the entry. Only an imported module
   * makes the container that function's; otherwise it stays a zygote and a fresh template starts.
   */
  fork(load: FunctionLoad, receivedAt: number): Promise<ForkResult> {
    return this.#serialised(async () => {
      if (this.#supervisor) {
        throw new WrongRoleError(`this container runs function ${this.#supervisor.load.functionName}: become a zygote first`);
      }
      const { worker } = await this.o.templates.take(TEMPLATE_WAIT_MS);
      if (heapLimitMb(load.memoryMb) !== worker.heapLimitMb) {
        // V8 fixes the heap limit at start; the function's later workers (after a crash) get their own.
        this.o.logger.warn({ function: load.functionName, memoryMb: load.memoryMb, templateHeapMb: worker.heapLimitMb }, "the forked worker keeps the template's heap limit, set from the container's memory at its start");
      }
      if (worker.identity) this.o.isolation.giveCodeDir(load.codeDir, worker.identity);
      const result = await worker.become(load);
      if (!result.ok) {
        // A failed load has killed the worker already (the kill is for a template that was not ready); its
        // exit handler, still the keeper's, releases its uid and directory. A zygote needs a template: the
        // next one starts once this answer is sent.
        worker.kill({ kind: "load-failed" });
        setImmediate(() => this.#ensureTemplate());
        throw new ForkFailedError(`function ${load.functionName} failed to load: ${result.error.message}`);
      }
      const forkUs = Math.round((performance.now() - receivedAt) * 1000);
      // Reported here, so the first Run does not report an import it did not wait for.
      const initUs = worker.takeInitUs();
      this.#supervisor = new FunctionSupervisor({ load, workerScript: this.o.workerScript, logger: this.o.logger, identity: worker.identity, adopted: worker });
      this.o.logger.info({ function: load.functionName, workerPid: worker.pid, uid: worker.identity?.uid, forkUs, initUs }, "forked the template into a function worker");
      // The replacement's spawn blocks this event loop for milliseconds and its import takes a core for tens:
      // started at once it would delay the fork's answer and the renter's first invocation, the one a HELPER
      // start is about. It starts a little after that invocation ended (its answer has to leave first; the
      // HTTP/2 flush is itself deferred), or after REPLACEMENT_WAIT_MS without one.
      void waitAtMost(this.#supervisor.firstRunEnded, REPLACEMENT_WAIT_MS).then(() => setTimeout(() => this.#ensureTemplate(), REPLACEMENT_DELAY_MS).unref());
      return { workerPid: worker.pid, forkUs, initUs };
    });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([this.#supervisor?.stop(), this.o.templates.stop()]);
  }

  #ensureTemplate(): void {
    if (this.#stopping) return;
    try {
      this.o.templates.ensure();
    } catch (err) {
      this.o.logger.error({ err }, "could not start a template worker");
    }
  }

  #serialised<T>(move: () => Promise<T>): Promise<T> {
    const run = this.#moves.then(() => {
      if (this.#stopping) throw new StoppingError("the sidecar is stopping");
      return move();
    });
    this.#moves = run.catch(() => undefined);
    return run;
  }
}
