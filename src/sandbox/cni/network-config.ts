// CNI network configuration: parsing .conf/.conflist files and the built-in
// default network. Pure; the file system is read by discovery.ts.

export interface CniPluginConf {
  type: string;
  [key: string]: unknown;
}

export interface CniNetworkList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
  /** Where it came from: a file path, or "builtin". */
  source: string;
}

/** File names libcni considers network configs. */
export function isCniConfigFileName(name: string): boolean {
  return /\.(conflist|conf|json)$/.test(name) && !name.startsWith(".");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses one config file. A .conflist holds `plugins`; a .conf/.json holds a
 * single plugin, which is wrapped into a list as libcni does.
 * Throws an Error naming the file and the problem.
 */
export function parseCniConfigFile(source: string, text: string): CniNetworkList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new Error(`${source}: must hold a JSON object`);
  const name = doc.name;
  if (typeof name !== "string" || !name) throw new Error(`${source}: "name" is missing`);
  const cniVersion = typeof doc.cniVersion === "string" ? doc.cniVersion : "0.4.0";
  let plugins: unknown[];
  if (source.endsWith(".conflist") || Array.isArray(doc.plugins)) {
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) throw new Error(`${source}: "plugins" must be a non-empty list`);
    plugins = doc.plugins;
  } else {
    plugins = [doc];
  }
  const checked = plugins.map((p, i) => {
    if (!isObject(p) || typeof p.type !== "string" || !/^[A-Za-z0-9_.-]+$/.test(p.type)) {
      throw new Error(`${source}: plugin ${i} needs a "type" naming a plugin binary`);
    }
    return p as CniPluginConf;
  });
  return { cniVersion, name, plugins: checked, source };
}

export interface BuiltinNetworkOptions {
  bridge: string;
  podCidr: string;
  /** host-local keeps its allocations here (under skiff's root, not /var/lib/cni). */
  ipamDataDir: string;
}

/**
 * The network used when the config dir is empty: a NATed bridge with
 * host-local addresses from the pod CIDR, and portmap for hostPorts.
 */
export function builtinNetwork(opts: BuiltinNetworkOptions): CniNetworkList {
  const defaultRoute = opts.podCidr.includes(":") ? "::/0" : "0.0.0.0/0";
  return {
    cniVersion: "1.0.0",
    name: "skiff",
    source: "builtin",
    plugins: [
      {
        type: "bridge",
        bridge: opts.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          dataDir: opts.ipamDataDir,
          ranges: [[{ subnet: opts.podCidr }]],
          routes: [{ dst: defaultRoute }],
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** Plugin binaries a network needs (the pod's lo is brought up by skiff itself). */
export function requiredPlugins(net: CniNetworkList): string[] {
  const names = new Set<string>();
  for (const p of net.plugins) {
    names.add(p.type);
    const ipam = p.ipam;
    if (isObject(ipam) && typeof ipam.type === "string") names.add(ipam.type);
  }
  return [...names];
}
