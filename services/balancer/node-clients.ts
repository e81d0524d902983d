// One gRPC client (one HTTP/2 session) per node address, opened on first use.
import { connectPeer, type Peer } from "../../common/transport.js";
import { NodeManagerService } from "../../gen/faas/nodemanager/v1/node_manager_pb.js";

export class NodeClients {
  readonly #peers = new Map<string, Peer<typeof NodeManagerService>>();

  constructor(
    private readonly writeMaxBytes: number,
    /** FAAS_INTERNAL_SECRET, sent to every node ("" for none). */
    private readonly internalSecret = "",
  ) {}

  get(address: string) {
    let peer = this.#peers.get(address);
    if (!peer) {
      peer = connectPeer(NodeManagerService, address, { writeMaxBytes: this.writeMaxBytes, readMaxBytes: 256 * 1024 * 1024, internalSecret: this.internalSecret });
      this.#peers.set(address, peer);
    }
    return peer.client;
  }

  closeAll(): void {
    for (const p of this.#peers.values()) p.close();
    this.#peers.clear();
  }
}
