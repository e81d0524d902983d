// gRPC handlers of faas.nodemanager.v1: argument checks and error codes; the work is in Node and the pool.
import { bind, type ServiceBinding } from "../../common/server.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { FunctionCodeSchema } from "../../gen/faas/common/v1/common_pb.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";
import { DependencyInstallError } from "./function-images.js";
import type { Node } from "./node.js";
import type { ContainerPool } from "./pool.js";

export function nodeManagerService(node: Node, pool: ContainerPool) {
  return bind(NodeManagerService, {
      async prepareFunction(req) {
        if (!req.spec?.name || !req.spec.digest) throw new ConnectError("spec with name and digest is required", Code.InvalidArgument);
        try {
          const built = await node.prepare(req.spec, req.code ?? create(FunctionCodeSchema));
          return { nodeId: node.nodeId, image: built.image, buildUs: built.buildUs };
        } catch (err) {
          if (err instanceof DependencyInstallError) throw new ConnectError(err.message, Code.FailedPrecondition);
          if (err instanceof ConnectError) throw err; // a refusal with its own code (a network the node does not allow)
          throw new ConnectError(`preparing ${req.spec.name} failed: ${(err as Error).message}`, Code.Internal);
        }
      },
      async removeFunction(req) {
        return { containersRemoved: await node.remove(req.name) };
      },
      async invoke(req) {
        if (!req.invocationId) throw new ConnectError("invocation_id is required", Code.InvalidArgument);
        return { outcome: await node.invoke(req) };
      },
      async *invokeBatch(req) {
        if (req.members.length === 0) throw new ConnectError("a batch needs members", Code.InvalidArgument);
        const ids = new Set<string>();
        for (const [i, m] of req.members.entries()) {
          if (!m.invocationId) throw new ConnectError(`members[${i}].invocation_id is required`, Code.InvalidArgument);
          if (ids.has(m.invocationId)) throw new ConnectError(`members[${i}].invocation_id ${m.invocationId} is there twice`, Code.InvalidArgument);
          ids.add(m.invocationId);
        }
        for await (const outcome of node.invokeBatch(req)) yield { outcome };
      },
      listContainers(req) {
        return {
          nodeId: node.nodeId,
          containers: pool
            .all()
            .filter((c) => !req.function || c.functionName === req.function)
            .map((c) => ({
              containerId: c.id,
              function: c.functionName,
              digest: c.digest,
              role: c.role,
              state: c.state,
              memoryMb: c.memoryMb,
              inflight: c.inflight,
              invocations: BigInt(c.invocations),
              createdAtUnixUs: BigInt(c.createdAt) * 1000n,
              lastUsedAtUnixUs: BigInt(c.lastUsedAt) * 1000n,
            })),
        };
      },
    });
}
