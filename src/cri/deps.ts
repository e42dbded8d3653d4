// What the CRI handlers need from the domain: one object built by the daemon,
// so each handler file names exactly the services it uses.

import type { Config } from "../config/config.js";
import type { Images } from "../image-service/images.js";
import type { Containers } from "../runtime/containers.js";
import type { Runtimes } from "../runtime/runtimes.js";
import type { PodNetwork } from "../sandbox/pod-network.js";
import type { Sandboxes } from "../sandbox/sandboxes.js";
import type { Stats } from "../stats/stats.js";
import type { StreamingServer } from "../streaming/server.js";

export interface CriDeps {
  config: Config;
  podNetwork: PodNetwork;
  images: Images;
  runtimes: Runtimes;
  sandboxes: Sandboxes;
  containers: Containers;
  /** Hands out the URLs of Exec, Attach and PortForward. */
  streaming: Pick<StreamingServer, "url">;
  stats: Stats;
  /** Where the daemon's HTTP servers listen (shown in verbose Status). */
  endpoints: { streaming: string; metrics?: string };
}
