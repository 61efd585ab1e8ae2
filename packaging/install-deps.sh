#!/usr/bin/env bash
# Installs everything durationd needs to build, test and package, from Debian 12's own
# packages only. Idempotent: a second run changes nothing and takes seconds.
#
# The one conflict (see ../shared/platform.md): libmsgpack-cxx-dev depends on
# libboost-dev (1.74), which apt refuses next to libboost1.81-dev. msgpack-cxx is
# header-only, so instead of lying to dpkg we unpack its .deb into .deps/ of the
# checkout; CMakeLists.txt finds it there. Nothing system-wide is faked.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
deps_dir="$here/.deps"

packages=(
  # build
  cmake g++ make pkg-config git ca-certificates
  libboost1.81-dev libboost-json1.81-dev
  libsqlcipher-dev sqlcipher sqlite3 libssl-dev libspdlog-dev libsystemd-dev
  catch2
  # tests
  systemd util-linux mount e2fsprogs python3 python3-msgpack python3-prometheus-client socat jq procps
  # fuzzing (.ci/fuzz.sh): clang, and the libFuzzer and sanitizer runtimes it only recommends
  clang libclang-rt-14-dev
  # packaging
  dpkg-dev fakeroot lintian file
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

export DEBIAN_FRONTEND=noninteractive
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

msgpack_hdr="$deps_dir/msgpack/usr/include/msgpack.hpp"
if [[ ! -f "$msgpack_hdr" ]]; then
  echo "install-deps: unpacking libmsgpack-cxx-dev into $deps_dir/msgpack"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  ( cd "$tmp" && { apt-get download -qq libmsgpack-cxx-dev 2>/dev/null ||
                   { apt-get update -qq && apt-get download -qq libmsgpack-cxx-dev; }; } )
  mkdir -p "$deps_dir/msgpack"
  dpkg -x "$tmp"/libmsgpack-cxx-dev_*.deb "$deps_dir/msgpack"
fi
[[ -f "$msgpack_hdr" ]] || { echo "install-deps: msgpack-cxx headers missing" >&2; exit 1; }
echo "install-deps: ok"
