#!/usr/bin/env bash
# Installs the Debian 12 packages vsp needs to build, test and run its demo.
# Idempotent: packages already present are left alone, so a second run only
# checks. Usage: scripts/install-deps.sh [build|test|all]   (default: all)
#
# test adds clang for the fuzzers and clang-tidy; libclang-rt-dev ships
# libFuzzer and clang's sanitizer runtimes.
#
# docker.io is installed without starting or enabling anything: a system
# Docker already on the machine is never touched, and a fresh install runs
# behind a temporary policy-rc.d so its services are not started.
set -euo pipefail

want=${1:-all}

build_pkgs=(
  cmake g++ make pkg-config ca-certificates
  libmicrohttpd-dev libcurl4-openssl-dev nlohmann-json3-dev libfmt-dev
  libcli11-dev libyaml-cpp-dev libsqlite3-dev libssl-dev catch2
  scdoc
)
test_pkgs=(
  python3 python3-hvac openssl iproute2 util-linux procps psmisc
  busybox-static tini clang-format gdb
  mandoc bash-completion zsh fish
  clang clang-tidy libclang-rt-dev
)
docker_pkgs=(docker.io)
# The plugin push/install tests run their own registry on loopback inside
# the sandbox; the package's service would listen on :5000 everywhere.
registry_pkgs=(docker-registry)

missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || printf '%s\n' "$p"
  done
}

apt_install() {
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: $*" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "$@"; then
    apt-get update
    apt-get install -y --no-install-recommends "$@"
  fi
}

# Installs PACKAGES... so that no service they bring is started now.
without_services() {
  local policy=/usr/sbin/policy-rc.d ours=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# vsp install-deps: keep new services stopped\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_install "$@"
  if [ "$ours" = 1 ]; then
    rm -f "$policy"
    trap - EXIT
  fi
}

# Installs docker.io so that no Docker service is started now. Skipped when
# any dockerd is already installed (docker.io or another distribution of it):
# replacing it would reconfigure the machine's Docker.
install_docker() {
  if command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ]; then
    return 0
  fi
  without_services "${docker_pkgs[@]}"
}

# docker-registry, neither started nor enabled for the next boot when this
# script installs it (an existing installation is left as it is).
install_registry() {
  local todo
  mapfile -t todo < <(missing "${registry_pkgs[@]}")
  [ "${#todo[@]}" -gt 0 ] || return 0
  without_services "${todo[@]}"
  # Both work without a running systemd (a container, a chroot).
  systemctl disable docker-registry.service >/dev/null 2>&1 || true
  update-rc.d docker-registry disable >/dev/null 2>&1 || true
}

pkgs=("${build_pkgs[@]}")
case "$want" in
  build) ;;
  test|all) pkgs+=("${test_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

mapfile -t todo < <(missing "${pkgs[@]}")
apt_install "${todo[@]}"
if [ "$want" != build ]; then
  install_docker
  install_registry
fi
