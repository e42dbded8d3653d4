// skiff's N-API addon: what Node.js cannot do by itself, or only slowly, each
// in a file of its own:
//   attach_relay.c    conmon's SOCK_SEQPACKET attach socket, relayed to a stream
//   netns.c           connect and read /proc/net/dev inside a pod's netns
//   pod_namespaces.c  create and pin a pod's namespaces without a process
//   mounts.c          mount and unmount off the event loop, without mount(8)
//   idmap.c           idmapped mounts for pods with a user namespace
//   spawn.c           start child processes with posix_spawn (no fork)
//   run_captured.c    run a helper to its end, its input and output handled off the event loop
//   replace_file.c    replace a small file atomically (durably) in one pool job
//   append_file.c     append to a record journal and fdatasync in one pool job
//   read_files.c      read a few small files (cgroup stats) in one pool job
//   notify.c          sd_notify
//   memory.c          give the C heap's free pages back after a burst
//   inflate.c         gunzip a layer into a buffer the caller reuses
//   hashed_write.c    write a download and hash it in one pool job
//   layer_ops.c       a layer's file system work, in batches on the pool
//   sealed_copy.c     a sealed in-memory copy of crun, which then skips its self-copy
// Everything else stays in TypeScript.

#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"seqpacketBridge", NULL, seqpacket_bridge, NULL, NULL, NULL, napi_default, NULL},
      {"connectInNetns", NULL, connect_in_netns, NULL, NULL, NULL, napi_default, NULL},
      {"readNetDevInNetns", NULL, read_net_dev_in_netns, NULL, NULL, NULL, napi_default, NULL},
      {"notifySystemd", NULL, notify_systemd, NULL, NULL, NULL, napi_default, NULL},
      {"createPodNamespaces", NULL, create_pod_namespaces, NULL, NULL, NULL, napi_default, NULL},
      {"mount", NULL, mount_fs, NULL, NULL, NULL, napi_default, NULL},
      {"unmount", NULL, unmount_fs, NULL, NULL, NULL, napi_default, NULL},
      {"makeSocketPair", NULL, make_socket_pair, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"spawnProcess", NULL, spawn_process, NULL, NULL, NULL, napi_default, NULL},
      {"runCaptured", NULL, run_captured, NULL, NULL, NULL, napi_default, NULL},
      {"replaceFile", NULL, replace_file, NULL, NULL, NULL, napi_default, NULL},
      {"appendDurable", NULL, append_durable, NULL, NULL, NULL, napi_default, NULL},
      {"readSmallFiles", NULL, read_small_files, NULL, NULL, NULL, napi_default, NULL},
      {"idmapMount", NULL, idmap_mount, NULL, NULL, NULL, napi_default, NULL},
      {"trimMemory", NULL, trim_memory, NULL, NULL, NULL, napi_default, NULL},
      {"inflaterCreate", NULL, inflater_create, NULL, NULL, NULL, napi_default, NULL},
      {"inflaterRun", NULL, inflater_run, NULL, NULL, NULL, napi_default, NULL},
      {"inflaterReset", NULL, inflater_reset, NULL, NULL, NULL, napi_default, NULL},
      {"inflaterClose", NULL, inflater_close, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Create", NULL, sha256_create, NULL, NULL, NULL, napi_default, NULL},
      {"writeHashed", NULL, write_hashed, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Hex", NULL, sha256_hex, NULL, NULL, NULL, napi_default, NULL},
      {"applyLayerOps", NULL, apply_layer_ops, NULL, NULL, NULL, napi_default, NULL},
      {"sealedCopy", NULL, sealed_copy, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
