// An HTTP/1.1 keep-alive connection must not stall on a request body nobody reads. connect-node
// answers some calls before reading the whole body (a gRPC-Web envelope over readMaxBytes, a second
// message for a unary method) and stops reading, sometimes destroying the request stream: the rest of
// the body stayed in the socket, the socket stayed paused, and the client's next request on that
// connection never got an answer (found by the gateway fuzzer, loadgen/fuzz/). Node discards the body
// of a request nobody started to read (IncomingMessage._dump, on the answer's 'finish'); the same is
// done here for one that was started and abandoned, and the socket reads on. (Closing the connection
// instead makes the kernel reset it while unread data is pending, and the client can lose the answer.)
import type * as http from "node:http";
import type * as net from "node:net";

type DumpableRequest = http.IncomingMessage & { _dump?: () => void; _dumped?: boolean };

export function drainAbandonedBody(req: http.IncomingMessage, res: http.ServerResponse): void {
  const socket: net.Socket | null = req.socket;
  res.once("finish", () => {
    if (req.complete) return;
    const r = req as DumpableRequest;
    // The parser drops the body of a dumped request instead of pushing it (and pausing the socket).
    if (typeof r._dump === "function") r._dump();
    else r._dumped = true;
    if (socket && !socket.destroyed) socket.resume();
  });
}
