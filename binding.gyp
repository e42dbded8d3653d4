{
  "targets": [
    {
      "target_name": "skiff_native",
      "sources": [
        "native/addon.c",
        "native/common.c",
        "native/attach_relay.c",
        "native/netns.c",
        "native/notify.c",
        "native/pod_namespaces.c",
        "native/mounts.c",
        "native/idmap.c",
        "native/spawn.c",
        "native/run_captured.c",
        "native/replace_file.c",
        "native/append_file.c",
        "native/read_files.c",
        "native/memory.c",
        "native/inflate.c",
        "native/hashed_write.c",
        "native/layer_ops.c",
        "native/sealed_copy.c"
      ],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "libraries": ["-lpthread", "-lm"]
    }
  ]
}
