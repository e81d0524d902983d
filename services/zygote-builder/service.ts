// gRPC handlers of faas.zygote.v1: the plan, re-planning, and building or assigning zygote images.
import { Code, ConnectError } from "@connectrpc/connect";
import { DependencyInstallError } from "../../common/npm-install.js";
import { bind } from "../../common/server.js";
import { ZygoteBuilderService } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import type { ZygoteBuilder } from "./builder.js";

export function zygoteBuilderService(builder: ZygoteBuilder) {
  return bind(ZygoteBuilderService, {
    getPlan() {
      return { plan: builder.plan() };
    },
    replan() {
      builder.replan("Replan call");
      return { plan: builder.plan() };
    },
    async buildImage(req) {
      const { image, buildUs } = await builder.build(req.setId).catch(asConnectError);
      return { image, buildUs };
    },
    async assignFunction(req) {
      if (!req.spec?.name) throw new ConnectError("spec with a name is required", Code.InvalidArgument);
      return builder.assign(req.spec).catch(asConnectError);
    },
  });
}

/** A set whose packages npm cannot install is the caller's problem (a bad pin), not an internal error. */
function asConnectError(err: unknown): never {
  if (err instanceof DependencyInstallError) throw new ConnectError(err.message, Code.FailedPrecondition);
  throw err;
}
