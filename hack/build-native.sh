#!/usr/bin/env sh
# Builds the small N-API addon (native/) that the streaming server needs.
# Debian's nodejs ships Node's headers in /usr/include/node; node-gyp would
# otherwise try to download them.
set -eu
cd "$(dirname "$0")/.."
if [ -f /usr/include/node/node_api.h ]; then
  exec npx --no-install node-gyp rebuild --nodedir=/usr --loglevel=warn
fi
exec npx --no-install node-gyp rebuild --loglevel=warn
