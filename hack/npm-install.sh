#!/usr/bin/env bash
# Installs node_modules from package-lock.json. `npm ci` is tried first; some
# registry mirrors lack optional platform packages (e.g. rollup's android and
# darwin builds), which npm leaves out of the lock file and `npm ci` then
# refuses. `npm install --no-save` still follows the lock file's versions.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! npm ci --no-audit --no-fund --loglevel=error 2>/tmp/skiff-npm-ci.log; then
  echo "npm-install: npm ci refused the lock file ($(grep -m1 'Missing:' /tmp/skiff-npm-ci.log || echo 'see /tmp/skiff-npm-ci.log')); using npm install --no-save" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
