// The operator's calls on dead-lettered async invocations: AdminService.ListDeadLetters and
// AdminService.ReplayDeadLetter. Every call goes through the operator check first.
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListDeadLettersRequest, ListDeadLettersResponseSchema, ReplayDeadLetterRequest, ReplayDeadLetterResponseSchema } from "../../../gen/faas/gateway/v1/async_pb.js";
import { isInvocationId } from "../../../common/ids.js";
import type { DurableAsync } from "./durable-async.js";

export const DEFAULT_DEAD_LETTER_LIMIT = 100;
export const MAX_DEAD_LETTER_LIMIT = 1000;

export interface DeadLetterParts {
  readonly queue: Pick<DurableAsync, "listDeadLetters" | "replay">;
  /** Throws (UNAUTHENTICATED / PERMISSION_DENIED) unless the call carries the operator key. */
  readonly requireOperator: (headers: Headers) => void;
}

export interface DeadLetterHandlers {
  listDeadLetters(req: ListDeadLettersRequest, ctx: HandlerContext): Promise<MessageInitShape<typeof ListDeadLettersResponseSchema>>;
  replayDeadLetter(req: ReplayDeadLetterRequest, ctx: HandlerContext): Promise<MessageInitShape<typeof ReplayDeadLetterResponseSchema>>;
}

export function deadLetterHandlers(p: DeadLetterParts): DeadLetterHandlers {
  return {
    async listDeadLetters(req, ctx) {
      p.requireOperator(ctx.requestHeader);
      if (req.limit > MAX_DEAD_LETTER_LIMIT) throw new ConnectError(`limit must be at most ${MAX_DEAD_LETTER_LIMIT}`, Code.InvalidArgument);
      return { deadLetters: await p.queue.listDeadLetters(req.limit || DEFAULT_DEAD_LETTER_LIMIT, req.tenant) };
    },
    async replayDeadLetter(req, ctx) {
      p.requireOperator(ctx.requestHeader);
      if (!isInvocationId(req.invocationId)) throw new ConnectError("invocation_id must be 32 lower-case hex digits", Code.InvalidArgument);
      const { generation } = await p.queue.replay(req.invocationId);
      return { invocationId: req.invocationId, generation };
    },
  };
}
