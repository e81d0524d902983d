// Deploy and delete: validate, have every node build the function, persist it, announce it on NATS.
// Changes to one function are serialised so that two deploys of one name cannot interleave.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { NatsConnection } from "@nats-io/transport-node";
import { nowUnixUs } from "../../common/clock.js";
import { publishEvent, subjects } from "../../common/nats.js";
import type { BalancerService } from "../../gen/faas/balancer/v1/balancer_pb.js";
import type { FunctionCode, FunctionSpec } from "../../gen/faas/common/v1/common_pb.js";
import { FunctionEventSchema } from "../../gen/faas/events/v1/events_pb.js";
import type { FunctionRegistry } from "./function-registry.js";
import { asConnectError, validateDeploy, type DeployBounds } from "./function-validation.js";
import { qualifiedName } from "./tenancy/tenant-names.js";

export interface DeployerOptions {
  readonly registry: FunctionRegistry;
  readonly balancer: Client<typeof BalancerService>;
  readonly nc: NatsConnection;
  readonly bounds: DeployBounds;
  /** Bounds a deploy, dominated by installing the function's dependencies on the nodes. */
  readonly prepareTimeoutMs: number;
}

export class FunctionDeployer {
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(private readonly o: DeployerOptions) {}

  /** Deploys into the tenant's namespace: the spec's short name becomes the qualified name the mesh uses. */
  deploy(tenant: string, spec: FunctionSpec | undefined, code: FunctionCode | undefined): Promise<{ spec: FunctionSpec; nodes: string[] }> {
    let validated;
    try {
      validated = validateDeploy(spec, code, this.o.bounds, nowUnixUs());
    } catch (err) {
      throw asConnectError(err);
    }
    const { spec: resolved, code: checkedCode } = validated;
    resolved.name = qualifiedName(tenant, resolved.name);
    resolved.tenant = tenant;
    return this.#serialised(resolved.name, async () => {
      const current = this.o.registry.get(resolved.name);
      // Redeploying the same version keeps its creation time.
      if (current?.digest === resolved.digest) resolved.createdAtUnixUs = current.createdAtUnixUs;
      const nodes = await this.prepare(resolved, checkedCode);
      this.o.registry.put(resolved, checkedCode);
      publishEvent(this.o.nc, subjects.functions, FunctionEventSchema, create(FunctionEventSchema, { atUnixUs: nowUnixUs(), event: { case: "deployed", value: { spec: resolved } } }));
      return { spec: resolved, nodes };
    });
  }

  /** name: the tenant's short name, already validated. */
  delete(tenant: string, name: string): Promise<void> {
    const qualified = qualifiedName(tenant, name);
    return this.#serialised(qualified, async () => {
      if (!this.o.registry.get(qualified)) throw new ConnectError(`function ${name} not found`, Code.NotFound);
      this.o.registry.delete(qualified);
      publishEvent(this.o.nc, subjects.functions, FunctionEventSchema, create(FunctionEventSchema, { atUnixUs: nowUnixUs(), event: { case: "removed", value: { name: qualified } } }));
      await this.o.balancer.removeFunction({ name: qualified }, { timeoutMs: 30_000 });
    });
  }

  /** Has every live node build this version; the stored code is used when none is given. */
  async prepare(spec: FunctionSpec, code?: FunctionCode): Promise<string[]> {
    const files = code ?? this.o.registry.code(spec.name);
    if (!files) throw new ConnectError(`function ${spec.name} has no stored code`, Code.NotFound);
    const res = await this.o.balancer.prepareFunction({ spec, code: files }, { timeoutMs: this.o.prepareTimeoutMs });
    return res.nodes;
  }

  #serialised<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(work);
    const tail = next.catch(() => {});
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return next;
  }
}
