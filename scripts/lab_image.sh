#!/usr/bin/env bash
# Build the lab images locally: no container registry is reachable, so an
# image is a debootstrapped Debian rootfs imported into Docker.
#   scripts/lab_image.sh [RELEASE...]    default: bookworm trixie
# Each release is tagged halb-lab:<release> (Debian 12 "bookworm" and
# Debian 13 "trixie", the two the collection supports).
# It boots systemd as PID 1 so the roles manage services exactly as on a
# production host (containers are created with stop signal SIGRTMIN+3,
# which systemd takes as "shut down cleanly"). The tag carries a hash of this recipe: an unchanged
# recipe reuses the cached image, a changed one rebuilds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

image_repo=${HALB_LAB_IMAGE_REPO:-halb-lab}
recipe_hash=$(sha256sum "$here/lab_image.sh" | cut -c1-12)

# Packages the lab hosts need before Ansible can manage them. keepalived,
# HAProxy and nginx are NOT baked in: the roles install them with apt.
packages=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,procps,iputils-ping,ca-certificates,curl

build_release() {
  local release=$1 image="$image_repo:$1-$recipe_hash" mirror root unit
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "lab image $image is cached"
    docker tag "$image" "$image_repo:$release"
    return 0
  fi

  mirror=$(debian_mirror)
  build=$(mktemp -d "${TMPDIR:-/tmp}/halb-rootfs.XXXXXX")
  log "debootstrap $release from $mirror into $build"
  debootstrap --variant=minbase --include="$packages" "$release" "$build/rootfs" "$mirror" \
    >"$HALB_STATE_DIR/debootstrap-$release.log" 2>&1 || {
    tail -20 "$HALB_STATE_DIR/debootstrap-$release.log" >&2
    die "debootstrap failed (full log: $HALB_STATE_DIR/debootstrap-$release.log)"
  }

  root="$build/rootfs"
  # A container has no consoles, no udev and no kernel modules to load: mask
  # the units that would fail or spin, so `systemctl is-system-running` says
  # "running" and real failures stand out.
  for unit in getty.target console-getty.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-modules-load.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    systemd-remount-fs.service systemd-firstboot.service \
    systemd-networkd-wait-online.service systemd-timesyncd.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  # Keep the image small and the apt lists fresh at first use.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/*
  echo "deb $mirror $release main" >"$root/etc/apt/sources.list"
  # apt (and Ansible's cache_valid_time) must see the emptied lists as stale.
  touch -d @0 "$root/var/lib/apt/lists"
  : >"$root/etc/machine-id"

  log "importing $image"
  tar -C "$root" -c . | docker import \
    --change 'ENV container=docker' \
    --change 'CMD ["/lib/systemd/systemd"]' \
    - "$image" >/dev/null
  rm -rf "$build"
  docker tag "$image" "$image_repo:$release"
  log "lab image $image built"
}

releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(bookworm trixie)
trap 'rm -rf "${build:-}"' EXIT
for release in "${releases[@]}"; do
  build_release "$release"
done
