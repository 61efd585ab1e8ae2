#!/usr/bin/env bash
# Sets up and runs durationd in the foreground with embedded defaults, for development:
# the state dir and a generated dev key live under ./var (git-ignored).
#   bash packaging/dev-run.sh [extra durationd options...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target durationd durationctl

var=$PWD/var
mkdir -p "$var"
chmod 700 "$var"
[[ -f "$var/dev.key" ]] || build/daemon/durationd keygen "$var/dev.key"
socket=$var/durationd.sock

cat <<MSG
durationd (dev) — socket: $socket
  talk to it:  build/daemon/durationctl --socket $socket hello
          or:  echo '{"op":"ping","id":1}' | socat - UNIX-CONNECT:$socket
  stop it with Ctrl-C.
MSG
exec build/daemon/durationd --socket "$socket" --state-dir "$var/state" --key-file "$var/dev.key" --foreground "$@"
