#!/usr/bin/env sh
# Bundles the compiled daemon (dist/, from tsc) and its dependencies into one
# ES module, dist/bundle/skiff.mjs, plus the layer-unpack worker beside it.
# Node.js resolves, reads and compiles one file instead of several hundred:
# the daemon answers its socket sooner after a restart (bin/skiff runs it).
# Paths to files shipped beside the code go through src/package-root.ts.
set -eu
cd "$(dirname "$0")/.."
# Bundled CommonJS dependencies call require() for Node's built-in modules.
banner='import { createRequire as __skiffCreateRequire } from "node:module"; const require = __skiffCreateRequire(import.meta.url);'
exec npx --no-install esbuild \
  skiff=dist/main.js unpack-worker=dist/image-service/unpack/worker.js \
  --bundle --platform=node --format=esm --target=node20 \
  --outdir=dist/bundle --out-extension:.js=.mjs \
  --banner:js="$banner" --minify-whitespace --minify-syntax --legal-comments=none --sourcemap --log-level=warning
