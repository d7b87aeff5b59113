#!/bin/sh
# /init of the blesim real-stack VM (copied into root.cpio.gz by mkinitramfs.sh).
#
# Brings up kernel modules, D-Bus, bluetoothd and btmon, then runs the payload
# /payload/run.sh (appended to the initrd by vm-run.sh).  At the end it prints
# the contents of /tmp/out as a base64 tar.gz between marker lines, then
#   BLESIM-VM-EXIT: <payload exit code>
# and powers off.  Without a payload it drops to a shell on the console.
#
# Kernel command line knobs (set by vm-run.sh):
#   blesim.bluetoothd=0   do not start bluetoothd
#   blesim.btmon=0        do not start btmon
#   blesim.debug=1        run bluetoothd with -d (debug log in /tmp/out/bluetoothd.log)
#   blesim.timeout=N      kill the payload after N seconds (exit code 124)
#   blesim.modules=a,b    extra modules to modprobe
#   blesim.out=0          do not send /tmp/out back on the console
#   blesim.stdin=null     payload stdin is /dev/null (default: an empty pipe that
#                         never reaches EOF; BlueZ's btmgmt prints nothing and
#                         quits early when its stdin is at EOF)

export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux LANG=C LC_ALL=C
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /var
[ -e /var/run ] || ln -s /run /var/run
mkdir -p /run/dbus /run/lock /tmp/out /var/lib/bluetooth/mesh /root/.config
hostname blesim-vm
ulimit -c 0

say() { echo "BLESIM-VM: $*"; }

# ------------------------------------------------------------ cmdline knobs --
P_BTD=1 P_BTMON=1 P_DEBUG=0 P_TIMEOUT=0 P_MODULES= P_OUT=1 P_STDIN=pipe
for arg in $(cat /proc/cmdline); do
    case $arg in
        blesim.bluetoothd=*) P_BTD=${arg#*=} ;;
        blesim.btmon=*)      P_BTMON=${arg#*=} ;;
        blesim.debug=*)      P_DEBUG=${arg#*=} ;;
        blesim.timeout=*)    P_TIMEOUT=${arg#*=} ;;
        blesim.modules=*)    P_MODULES=$(echo "${arg#*=}" | tr ',' ' ') ;;
        blesim.out=*)        P_OUT=${arg#*=} ;;
        blesim.stdin=*)      P_STDIN=${arg#*=} ;;
    esac
done

# ------------------------------------------------------------------ modules --
# jitterentropy_rng + drbg first: without a DRBG the kernel's ECDH self-test
# fails and LE Secure Connections cannot work.
# (one modprobe call per group: every kmod start costs ~0.1 s under TCG)
modprobe -a jitterentropy_rng drbg || say "WARNING: modprobe jitterentropy_rng drbg failed"
modprobe -q aesni_intel 2>/dev/null   # only where the (virtual) CPU has AES-NI
modprobe -a ecdh_generic ecb ctr ccm cmac af_alg algif_hash algif_skcipher algif_aead \
    algif_rng rfkill bluetooth hci_vhci $P_MODULES || say "WARNING: some modules failed to load"
for m in jitterentropy_rng drbg ecdh_generic cmac ccm algif_hash algif_skcipher bluetooth hci_vhci $P_MODULES; do
    [ -d "/sys/module/$m" ] || say "WARNING: module $m is not loaded"
done
[ -c /dev/vhci ] || say "WARNING: /dev/vhci missing"
if ! awk '/^name/{n=$3} /^driver/{d=$3} /^selftest/{ if (n=="ecdh-nist-p256") { print $3; exit } }' /proc/crypto | grep -q passed; then
    say "WARNING: ecdh-nist-p256 self-test did not pass (LE Secure Connections will fail)"
fi

ip link set lo up

# ------------------------------------------------------------------- daemons --
dbus-daemon --system --fork || say "WARNING: dbus-daemon failed to start"
i=0
while [ ! -S /run/dbus/system_bus_socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -S /run/dbus/system_bus_socket ] || say "WARNING: no D-Bus system socket"

BTMON_PID=
if [ "$P_BTMON" != 0 ]; then
    btmon -w /tmp/out/btmon.snoop >/dev/null 2>/tmp/out/btmon.err &
    BTMON_PID=$!
fi

BTD_PID=
if [ "$P_BTD" != 0 ]; then
    dbg=
    [ "$P_DEBUG" = 1 ] && dbg=-d
    /usr/libexec/bluetooth/bluetoothd -n $dbg >/tmp/out/bluetoothd.log 2>&1 &
    BTD_PID=$!
    i=0
    until dbus-send --system --print-reply --dest=org.bluez / \
            org.freedesktop.DBus.ObjectManager.GetManagedObjects >/dev/null 2>&1; do
        i=$((i+1))
        if [ $i -ge 100 ]; then say "WARNING: bluetoothd not on D-Bus after 10 s"; break; fi
        sleep 0.1
    done
fi

# ------------------------------------------------------------------- payload --
rc=0
if [ -f /payload/run.sh ]; then
    chmod +x /payload/run.sh 2>/dev/null
    say "payload start (uptime $(cut -d' ' -f1 /proc/uptime) s)"
    cd /payload
    if [ "$P_STDIN" = null ]; then
        BLESIM_OUT=/tmp/out setsid sh /payload/run.sh </dev/null &
    else
        mkfifo /run/payload-stdin
        BLESIM_OUT=/tmp/out setsid sh /payload/run.sh 0<>/run/payload-stdin &
    fi
    PL=$!
    WD=
    if [ "$P_TIMEOUT" -gt 0 ] 2>/dev/null; then
        ( sleep "$P_TIMEOUT"
          say "payload timed out after $P_TIMEOUT s, killing it"
          touch /run/blesim-timeout
          kill -TERM -"$PL" 2>/dev/null; sleep 2; kill -KILL -"$PL" 2>/dev/null ) &
        WD=$!
    fi
    wait "$PL"
    rc=$?
    [ -n "$WD" ] && kill "$WD" 2>/dev/null
    [ -e /run/blesim-timeout ] && rc=124
    # leftovers of the payload (background jobs): let them flush, then stop them
    if kill -0 -"$PL" 2>/dev/null; then
        kill -TERM -"$PL" 2>/dev/null; sleep 1; kill -KILL -"$PL" 2>/dev/null
    fi
    cd /
    say "payload end rc=$rc (uptime $(cut -d' ' -f1 /proc/uptime) s)"
else
    say "no /payload/run.sh: starting a shell (exit it to power off)"
    setsid cttyhack sh -l
    rc=$?
fi

# ------------------------------------------------------------------ teardown --
[ -n "$BTMON_PID" ] && kill -INT "$BTMON_PID" 2>/dev/null
[ -n "$BTD_PID" ] && kill -TERM "$BTD_PID" 2>/dev/null
sleep 0.3
[ -s /tmp/out/btmon.err ] || rm -f /tmp/out/btmon.err
dmesg >/tmp/out/dmesg.txt 2>/dev/null
dmesg -n 1
if [ "$P_OUT" != 0 ]; then
    echo "BLESIM-OUT-BEGIN"
    tar -C /tmp/out -cf - . | gzip -c | base64
    echo "BLESIM-OUT-END"
fi
echo "BLESIM-VM-EXIT: $rc"
sync
poweroff -f
