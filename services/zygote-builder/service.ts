// gRPC handlers of faas.zygote.v1. Planning works now; building zygote images comes with zygote sharing.
import { bind, type ServiceBinding } from "../../common/server.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { ZygoteBuilderService } from "../../gen/faas/zygote/v1/zygote_builder_pb.js";
import type { PlanState } from "./plan-state.js";

export function zygoteBuilderService(state: PlanState) {
  return bind(ZygoteBuilderService, {
      getPlan() {
        return { plan: state.plan };
      },
      replan() {
        state.replan();
        return { plan: state.plan };
      },
      buildImage(req) {
        if (!state.plan.sets.some((s) => s.id === req.setId)) throw new ConnectError(`package set ${req.setId} is not in the current plan`, Code.NotFound);
        throw new ConnectError("building zygote images is not implemented yet (zygote sharing issue)", Code.Unimplemented);
      },
    });
}
