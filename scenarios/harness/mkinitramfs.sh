#!/usr/bin/env bash
# mkinitramfs.sh OUTDIR
#
# Builds OUTDIR/vmlinuz and OUTDIR/root.cpio.gz: a tiny initramfs holding the
# Debian kernel's Bluetooth + crypto modules, busybox, BlueZ (bluetoothd,
# bluetoothctl, btmgmt, btmon, gatttool, hcitool, bluetooth-meshd,
# mesh-cfgclient, ...), dbus-daemon and the harness's /init (init.sh next to
# this script).  Used by vm-run.sh; see README.md.
#
# Idempotent: the result is cached and only rebuilt when an input changes (this
# script, init.sh, the kernel, or the set/versions of installed packages).
#
# Environment:
#   BLESIM_VM_KVER   kernel version to use (default: newest /boot/vmlinuz-* that
#                    has hci_vhci.ko in /lib/modules/<ver>)
#   BLESIM_VM_FORCE  set to 1 to rebuild even if the cache is up to date
set -euo pipefail

die() { echo "mkinitramfs.sh: error: $*" >&2; exit 1; }
log() { echo "mkinitramfs.sh: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUT=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INIT_SRC=$HERE/init.sh
[ -f "$INIT_SRC" ] || die "missing $INIT_SRC"

PKGS=(qemu-system-x86 linux-image-amd64 busybox-static cpio kmod bluez bluez-meshd dbus)

# ---------------------------------------------------------------- packages --
missing_pkgs() {
    local p st
    for p in "${PKGS[@]}"; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$st" = "install ok installed" ] || echo "$p"
    done
}

ensure_packages() {
    local miss
    miss=$(missing_pkgs | tr '\n' ' ')
    [ -z "${miss// /}" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        die "missing Debian packages: $miss; run as root or: sudo apt-get install -y $miss"
    fi
    log "installing missing packages: $miss"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if ! apt-get install -y --no-install-recommends $miss; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update || die "apt-get update failed"
        # shellcheck disable=SC2086
        apt-get install -y --no-install-recommends $miss || die "apt-get install $miss failed"
    fi
    miss=$(missing_pkgs | tr '\n' ' ')
    [ -z "${miss// /}" ] || die "packages still missing after apt-get: $miss"
}

ensure_packages

for t in cpio gzip depmod ldd sha256sum flock; do
    command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found"
done
[ -x /bin/busybox ] || die "/bin/busybox not found (package busybox-static)"
bb_ldd=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
grep -q 'not a dynamic' <<<"$bb_ldd" || die "/bin/busybox is not the static busybox (install busybox-static)"

# ------------------------------------------------------------------ kernel --
pick_kernel() {
    if [ -n "${BLESIM_VM_KVER:-}" ]; then echo "$BLESIM_VM_KVER"; return; fi
    local v best=""
    for f in /boot/vmlinuz-*; do
        [ -e "$f" ] || continue
        v=${f#/boot/vmlinuz-}
        [ -f "/lib/modules/$v/kernel/drivers/bluetooth/hci_vhci.ko" ] || \
        [ -n "$(find "/lib/modules/$v/kernel/drivers/bluetooth" -name 'hci_vhci.ko*' 2>/dev/null)" ] || continue
        if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -1)" = "$v" ]; then
            best=$v
        fi
    done
    [ -n "$best" ] || die "no /boot/vmlinuz-* with a matching /lib/modules/<ver>/.../hci_vhci.ko (install linux-image-amd64)"
    echo "$best"
}
KVER=$(pick_kernel)
VMLINUZ=/boot/vmlinuz-$KVER
MODSRC=/lib/modules/$KVER
[ -r "$VMLINUZ" ] || die "$VMLINUZ not readable"
[ -f "$MODSRC/modules.dep" ] || die "$MODSRC/modules.dep missing (run depmod $KVER)"

# ------------------------------------------------------------------- cache --
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec 9>"$OUT/.lock"
flock 9

stamp=$( {
    sha256sum "$HERE/mkinitramfs.sh" "$INIT_SRC"
    echo "$KVER"
    stat -c '%n %s %Y' "$VMLINUZ" "$MODSRC/modules.dep"
    dpkg-query -W -f='${Package} ${Version}\n' | LC_ALL=C sort
} | sha256sum | cut -d' ' -f1)

if [ "${BLESIM_VM_FORCE:-0}" != 1 ] && [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$stamp" ] \
   && [ -s "$OUT/root.cpio.gz" ] && [ -s "$OUT/vmlinuz" ]; then
    log "up to date: $OUT (kernel $KVER)"
    exit 0
fi

log "building initramfs for kernel $KVER in $OUT"
ST=$OUT/.staging
rm -rf "$ST"
umask 022
mkdir -p "$ST"/usr/{bin,sbin,lib,lib64} "$ST"/{etc,proc,sys,dev,run,tmp,root,var/lib,payload,mnt}
ln -s usr/bin "$ST/bin"
ln -s usr/sbin "$ST/sbin"
ln -s usr/lib "$ST/lib"
ln -s usr/lib64 "$ST/lib64"
chmod 1777 "$ST/tmp"
# the kernel opens /dev/console for init before devtmpfs is mounted
mknod -m 600 "$ST/dev/console" c 5 1 || die "mknod dev/console failed (run as root)"
mknod -m 666 "$ST/dev/null" c 1 3 || die "mknod dev/null failed (run as root)"

# copy a file to the same absolute path inside the staging tree (dereferenced)
put() {
    local src=$1 dst=${2:-$1}
    [ -e "$src" ] || die "missing input file $src"
    mkdir -p "$ST$(dirname "$dst")"
    cp -L --preserve=mode "$src" "$ST$dst"
}

declare -A LIBS_DONE=()
# copy an ELF binary and every shared library ldd resolves for it
put_bin() {
    local src=$1 dst=${2:-$1} line lib
    put "$src" "$dst"
    local out
    out=$(LC_ALL=C ldd "$src" 2>&1) || true
    if grep -q 'not a dynamic executable' <<<"$out"; then return 0; fi
    if grep -q 'not found' <<<"$out"; then
        die "ldd $src: unresolved libraries:
$out"
    fi
    while read -r line; do
        lib=""
        case $line in
            *"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
            /*) lib=${line%% (*} ;;
        esac
        [ -n "$lib" ] || continue
        [ -n "${LIBS_DONE[$lib]:-}" ] && continue
        LIBS_DONE[$lib]=1
        put "$lib"
    done <<<"$out"
}

# ----------------------------------------------------------------- busybox --
put /bin/busybox /usr/bin/busybox
while read -r applet; do
    [ -n "$applet" ] || continue
    a=/${applet#/}
    case $a in /bin/*|/sbin/*) a=/usr$a ;; esac
    [ "$a" = /usr/bin/busybox ] && continue
    [ -e "$ST$a" ] || [ -L "$ST$a" ] || { mkdir -p "$ST$(dirname "$a")"; ln -s /usr/bin/busybox "$ST$a"; }
done < <(/bin/busybox --list-full)

# ------------------------------------------------------- real userland tools --
# kmod (real modprobe: the kernel's request_module() runs /sbin/modprobe and we
# want modules.alias / softdeps handled exactly as on a real system)
put_bin /usr/bin/kmod
for l in modprobe insmod rmmod lsmod depmod modinfo; do
    rm -f "$ST/usr/sbin/$l" "$ST/usr/bin/$l"
    ln -s /usr/bin/kmod "$ST/usr/sbin/$l"
done

find_bluez_daemon() {
    local d
    for d in /usr/libexec/bluetooth /usr/lib/bluetooth; do
        [ -x "$d/$1" ] && { echo "$d/$1"; return; }
    done
    die "cannot find $1 in /usr/libexec/bluetooth or /usr/lib/bluetooth"
}
BTD=$(find_bluez_daemon bluetoothd)
MESHD=$(find_bluez_daemon bluetooth-meshd)
put_bin "$BTD" /usr/libexec/bluetooth/bluetoothd
put_bin "$MESHD" /usr/libexec/bluetooth/bluetooth-meshd
ln -sf /usr/libexec/bluetooth/bluetoothd "$ST/usr/sbin/bluetoothd"
ln -sf /usr/libexec/bluetooth/bluetooth-meshd "$ST/usr/sbin/bluetooth-meshd"

# required BlueZ / D-Bus tools
for b in bluetoothctl btmgmt btmon mesh-cfgclient dbus-daemon dbus-send; do
    p=$(command -v "$b") || die "$b not found on this machine"
    put_bin "$p" "/usr/bin/$b"
done
# optional extras (copied when present)
for b in gatttool hcitool hciconfig btattach l2test l2ping meshctl mesh-cfgtest \
         dbus-monitor dbus-uuidgen script; do
    p=$(command -v "$b" 2>/dev/null) || { log "note: optional tool $b not found, skipped"; continue; }
    put_bin "$p" "/usr/bin/$b"
done

# --------------------------------------------------------------- configs --
put /usr/share/dbus-1/system.conf
mkdir -p "$ST/usr/share/dbus-1/system.d" "$ST/etc/dbus-1/system.d" "$ST/usr/share/dbus-1/system-services"
for f in /etc/dbus-1/system.d/bluetooth*.conf /usr/share/dbus-1/system.d/bluetooth*.conf; do
    [ -e "$f" ] && put "$f"
done
[ -e "$ST/etc/dbus-1/system.d/bluetooth.conf" ] || [ -e "$ST/usr/share/dbus-1/system.d/bluetooth.conf" ] \
    || die "D-Bus policy bluetooth.conf not found (package bluez)"
[ -e "$ST/etc/dbus-1/system.d/bluetooth-mesh.conf" ] || [ -e "$ST/usr/share/dbus-1/system.d/bluetooth-mesh.conf" ] \
    || die "D-Bus policy bluetooth-mesh.conf not found (package bluez-meshd)"
for f in /etc/bluetooth/*.conf; do [ -e "$f" ] && put "$f"; done
for t in l/linux v/vt100 v/vt102 x/xterm d/dumb a/ansi s/screen; do
    for d in /lib/terminfo /usr/share/terminfo; do
        [ -e "$d/$t" ] && { put "$d/$t" "/usr/share/terminfo/$t"; break; }
    done
done

cat >"$ST/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101:D-Bus:/nonexistent:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$ST/etc/group" <<'EOF'
root:x:0:
messagebus:x:101:
bluetooth:x:102:root
nogroup:x:65534:
EOF
cat >"$ST/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files
EOF
echo "127.0.0.1 localhost blesim-vm" >"$ST/etc/hosts"
echo blesim-vm >"$ST/etc/hostname"
# fixed machine id: keeps runs deterministic (dbus wants one)
echo 6c6573696d766d000000000000000001 >"$ST/etc/machine-id"
mkdir -p "$ST/var/lib/dbus" "$ST/var/lib/bluetooth/mesh"
ln -s /etc/machine-id "$ST/var/lib/dbus/machine-id"
chmod 700 "$ST/root"

# ----------------------------------------------------------------- modules --
# Wanted modules (names); their full dependency closure is taken from the host's
# modules.dep for $KVER.  The whole crypto/ directories are included so that any
# algorithm the kernel requests via request_module("crypto-...") is available.
WANT=(hci_vhci bluetooth rfkill bnep
      ecdh_generic ecc ccm ctr cmac ecb gcm seqiv ghash_generic aesni_intel aes_generic
      jitterentropy_rng drbg
      af_alg algif_hash algif_skcipher algif_aead algif_rng crypto_user)

declare -A DEP=()  # relpath -> deps (relpaths)
declare -A BYNAME=()
while IFS= read -r line; do
    rel=${line%%:*}
    deps=${line#*:}
    DEP[$rel]=$deps
    n=$(basename "$rel"); n=${n%%.ko*}; n=${n//-/_}
    BYNAME[$n]=$rel
done <"$MODSRC/modules.dep"

declare -A MSEL=()
addmod() {
    local rel=$1 d
    [ -n "${MSEL[$rel]:-}" ] && return 0
    MSEL[$rel]=1
    for d in ${DEP[$rel]}; do addmod "$d"; done
}
for m in "${WANT[@]}"; do
    if [ -n "${BYNAME[$m]:-}" ]; then
        addmod "${BYNAME[$m]}"
    elif grep -qE "/${m//_/[-_]}\.ko" "$MODSRC/modules.builtin" 2>/dev/null; then
        :   # built into the kernel
    else
        case $m in
            hci_vhci|bluetooth|ecdh_generic|ecc|jitterentropy_rng|drbg|af_alg|algif_hash|algif_skcipher|cmac|ccm)
                die "kernel module $m not found for $KVER" ;;
            *) log "note: module $m not available in $KVER, skipped" ;;
        esac
    fi
done
for rel in "${!DEP[@]}"; do
    case $rel in
        kernel/crypto/*|kernel/arch/x86/crypto/*|kernel/lib/crypto/*|kernel/net/bluetooth/*|kernel/net/rfkill/*)
            addmod "$rel" ;;
    esac
done
MDST=$ST/usr/lib/modules/$KVER
for rel in "${!MSEL[@]}"; do
    mkdir -p "$MDST/$(dirname "$rel")"
    cp "$MODSRC/$rel" "$MDST/$rel"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ -f "$MODSRC/$f" ] && cp "$MODSRC/$f" "$MDST/$f"
done
depmod -b "$ST" "$KVER" || die "depmod -b $ST $KVER failed"
[ -s "$MDST/modules.dep" ] || die "depmod produced no modules.dep"
log "kernel modules: ${#MSEL[@]}"

# -------------------------------------------------------------------- init --
cp "$INIT_SRC" "$ST/init"
chmod 755 "$ST/init"
cat >"$ST/etc/blesim-vm-release" <<EOF
kernel=$KVER
bluez=$(dpkg-query -W -f='${Version}' bluez)
bluez-meshd=$(dpkg-query -W -f='${Version}' bluez-meshd)
dbus=$(dpkg-query -W -f='${Version}' dbus)
busybox=$(dpkg-query -W -f='${Version}' busybox-static)
EOF

# ---------------------------------------------------------------- archive --
(cd "$ST" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
    | gzip -6 -n >"$OUT/root.cpio.gz.tmp"
cp "$VMLINUZ" "$OUT/vmlinuz.tmp"
mv -f "$OUT/root.cpio.gz.tmp" "$OUT/root.cpio.gz"
mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
cp "$ST/etc/blesim-vm-release" "$OUT/release.txt"
rm -rf "$ST"
echo "$stamp" >"$OUT/.stamp"
log "done: $OUT/vmlinuz $OUT/root.cpio.gz ($(du -h "$OUT/root.cpio.gz" | cut -f1))"
