#!/usr/bin/env bash
# Builds the managed-plugin bundle Docker takes with `docker plugin create
# NAME DIR`: DIR/config.json and DIR/rootfs, without Docker.
#
#   make_bundle.sh --plugin BIN --config config.json --version V --out DIR
#                  [--no-strip]
#
# The rootfs holds vsp-plugin, exactly the shared libraries ldd reports for
# it, the name-service modules glibc loads for host and group look-ups,
# the CA certificates libcurl trusts by default, and empty mount points for
# what Docker and the operator bind-mount. Nothing else: no shell, no
# package manager. Prints the bundle's size on success.
set -euo pipefail

usage() {
  echo "usage: $0 --plugin BIN --config FILE --version V --out DIR" \
    "[--no-strip]" >&2
  exit 2
}

die() {
  echo "make_bundle: $*" >&2
  exit 1
}

plugin='' config='' version='' out='' strip=1
while [ "$#" -gt 0 ]; do
  case $1 in
    --plugin) plugin=${2:-}; shift 2 ;;
    --config) config=${2:-}; shift 2 ;;
    --version) version=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --no-strip) strip=0; shift ;;
    *) usage ;;
  esac
done
if [ -z "$plugin" ] || [ -z "$config" ] || [ -z "$version" ] \
  || [ -z "$out" ]; then
  usage
fi
[ -x "$plugin" ] || die "$plugin is not an executable"
[ -r "$config" ] || die "cannot read $config"

# Where libcurl looks for CA certificates when VAULT_CACERT is not set;
# Debian builds it with this bundle.
ca_bundle=/etc/ssl/certs/ca-certificates.crt

# The libraries the dynamic loader maps for BIN, one path a line, the
# loader itself included; fails on any "not found".
shared_libraries() {
  local report
  report=$(ldd "$1") || die "ldd $1 failed"
  if grep -q 'not found' <<<"$report"; then
    die "missing libraries for $1: $(grep 'not found' <<<"$report" | xargs)"
  fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 }
       $1 ~ /^\// { print $1 }' <<<"$report"
}

# Copies FILE into the rootfs at the same path, as a regular file.
copy_in() {
  local file=$1
  mkdir -p "$root$(dirname "$file")"
  cp -L "$file" "$root$file"
}

install_binary() {
  mkdir -p "$root/usr/bin"
  if [ "$strip" = 1 ]; then
    strip --strip-unneeded -o "$root/usr/bin/vsp-plugin" "$plugin"
  else
    cp "$plugin" "$root/usr/bin/vsp-plugin"
  fi
  chmod 0755 "$root/usr/bin/vsp-plugin"
}

# glibc loads these by name from nsswitch.conf: files for /etc/hosts (the
# daemon bind-mounts the host's) and /etc/group (VSP_SOCKET_GROUP), dns
# for resolv.conf. Since glibc 2.34 both live in libc, and the modules are
# stubs, but a libc built otherwise still needs them.
install_nss() {
  local libc dir module
  libc=$(shared_libraries "$plugin" | grep '/libc\.so\.6$') \
    || die "no libc.so.6 among the libraries of $plugin"
  dir=$(dirname "$libc")
  for module in libnss_files.so.2 libnss_dns.so.2; do
    [ -e "$dir/$module" ] || die "$dir/$module not found"
    copy_in "$dir/$module"
    shared_libraries "$dir/$module" | while read -r lib; do
      [ -e "$root$lib" ] || die "$module needs $lib, which vsp-plugin does not"
    done
  done
}

install_etc() {
  mkdir -p "$root/etc/ssl/certs"
  [ -r "$ca_bundle" ] || die "$ca_bundle not found (Debian: ca-certificates)"
  cp -L "$ca_bundle" "$root$ca_bundle"
  cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group:  files
hosts:  files dns
EOF
  printf 'root:x:0:0:root:/:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  # Placeholders the daemon bind-mounts the host's files onto (a plugin
  # with network "host" gets /etc/hosts and /etc/resolv.conf).
  : >"$root/etc/hosts"
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  # The build this rootfs holds. It also keeps two builds from ever
  # sharing a layer: dockerd refuses `docker plugin create` from a rootfs
  # whose layer it already holds ("content ... already exists"), which
  # identical bundles made within one second would be.
  printf 'vsp %s\n' "$version" >"$root/etc/vsp-version"
}

# Mount points: those of config.json and the daemon's own.
install_mount_points() {
  mkdir -p "$root/run/docker/plugins" "$root/etc/vsp/credentials" \
    "$root/var/lib/vsp" "$root/proc" "$root/sys" "$root/dev"
  mkdir -p "$root/tmp"
  chmod 1777 "$root/tmp"
  : >"$root/etc/vsp/rules.yaml"
  mkdir -p "$root/var/run"
  : >"$root/var/run/docker.sock"
  chmod 0700 "$root/etc/vsp/credentials" "$root/var/lib/vsp"
}

write_config() {
  sed "s/@VSP_VERSION@/$version/g" "$config" >"$out/config.json"
  if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$out/config.json" >/dev/null \
      || die "$out/config.json is not valid JSON"
  fi
}

case $out in
  "" | / | /usr | /etc) die "refusing to build into '$out'" ;;
esac
root=$out/rootfs
rm -rf "$out"
mkdir -p "$root"
install_binary
shared_libraries "$plugin" | while read -r lib; do copy_in "$lib"; done
install_nss
install_etc
install_mount_points
write_config
echo "plugin bundle: $out ($(du -sk "$out" | cut -f1) KiB," \
  "$(find "$root" -type f \( -name '*.so' -o -name '*.so.*' \) | wc -l)" \
  "shared objects)"
