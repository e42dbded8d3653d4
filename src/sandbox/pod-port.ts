// Connections to a port on a pod's own localhost, for PortForward: made from
// inside the pod's network namespace (by the native addon), so a server that
// listens only on 127.0.0.1 in the pod is reachable; IPv4 first, then IPv6.

import net, { type Socket } from "node:net";
import { connectInNetns } from "../native/index.js";

export async function connectPodPort(netnsPath: string | undefined, port: number): Promise<Socket> {
  if (netnsPath) return connectInNetns(netnsPath, port);
  // Host-network pod: the node's localhost.
  try {
    return await connectHost("127.0.0.1", port);
  } catch {
    return connectHost("::1", port);
  }
}

function connectHost(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}
