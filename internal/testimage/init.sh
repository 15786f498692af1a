#!/bin/sh
# /init of Hangar's test template. The protocol it implements (seed, disk, serial markers,
# power button) is documented in internal/testimage/doc.go; the qemu driver depends on it.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# The leading newline ends whatever the firmware left on the line (SeaBIOS on q35).
printf '\nHANGAR-KERNEL-UP\n'

say() { echo "hangar-init: $*"; }

# Drivers, dependencies first (the builder wrote them in load order).
while read -r ko; do
  insmod "/lib/modules/$ko" || say "insmod $ko failed"
done < /etc/hangar/modules

# The seed: a NoCloud ISO labelled cidata, read-only.
seeddev=
for i in 1 2 3 4 5 6 7 8 9 10; do
  seeddev=$(findfs LABEL=cidata 2>/dev/null) && break
  usleep 100000
done
mkdir -p /seed /data
if [ -n "$seeddev" ] && mount -t iso9660 -o ro "$seeddev" /seed; then
  [ -f /seed/hangar.env ] && . /seed/hangar.env
else
  say "no cidata seed"
fi

# The machine's disk: the first virtio disk that is not the seed; ext2 made on first boot.
disk=
for d in /dev/vd?; do
  [ -b "$d" ] && [ "$d" != "$seeddev" ] && { disk=$d; break; }
done
if [ -n "$disk" ]; then
  magic=$(dd if="$disk" bs=2 skip=540 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
  if [ "$magic" != 53ef ]; then
    mke2fs -F -q -b 4096 -i 1048576 -I 128 -m 0 -L hangar-data "$disk" >/dev/null || say "mke2fs $disk failed"
  fi
  mount -t ext4 "$disk" /data || say "mount $disk failed"
else
  say "no disk; /data is in memory"
fi

# Network: static, from hangar.env.
ip link set lo up
if [ -n "$HANGAR_IP" ] && [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  ip addr add "$HANGAR_IP" dev eth0 || say "ip addr add $HANGAR_IP failed"
  if [ -n "$HANGAR_GATEWAY" ]; then
    ip route add default via "$HANGAR_GATEWAY" || say "default route via $HANGAR_GATEWAY failed"
  fi
fi
if [ -n "$HANGAR_HOSTNAME" ]; then
  hostname "$HANGAR_HOSTNAME"
  echo "$HANGAR_HOSTNAME" > /etc/hostname
fi

# The startup script: the user-data part named startup-script (a MIME multi-part message, as
# for cloud-init), a wrapper that runs the script and records its exit status. With
# HANGAR_SCRIPT_RUN_ONCE=1 it runs only on the first boot of this disk.
ranmark=/data/.hangar/script-ran
if [ -f /seed/user-data ]; then
  b=$(sed -n 's/^Content-Type: multipart\/mixed; boundary="\(.*\)"$/\1/p' /seed/user-data | head -n 1)
  awk -v b="--$b" '
    $0 == b || $0 == b "--" { if (st == 2) exit; st = 0; next }
    st == 0 && /^Content-Disposition: .*filename="startup-script"$/ { st = 1; next }
    st == 1 && /^$/ { st = 2; next }
    st == 2 { print }' /seed/user-data > /tmp/startup-script
fi
if [ -s /tmp/startup-script ]; then
  if [ "$HANGAR_SCRIPT_RUN_ONCE" = 1 ] && [ -f "$ranmark" ]; then
    say "startup script already ran once; skipped"
  else
    export HANGAR_MACHINE_ID HANGAR_HOSTNAME HANGAR_IP HANGAR_GATEWAY HANGAR_USER
    (cd /data && sh /tmp/startup-script) </dev/null
    rc=$?
    mkdir -p /data/.hangar
    echo "$rc" > "$ranmark"
    sync
    echo "HANGAR-SCRIPT-RAN rc=$rc"
  fi
fi

# Services: httpd serving /data on port 80; the ACPI power button powers off cleanly.
httpd -p 80 -h /data
mkdir -p /etc/acpi/PWRF
cat > /etc/acpi/PWRF/00000080 <<'PWRF'
#!/bin/sh
exec >/dev/console 2>&1
killall httpd
for i in 1 2 3 4 5 6 7 8 9 10; do pidof httpd >/dev/null || break; usleep 100000; done
sync
if umount /data; then
  echo "hangar-init: power button: /data unmounted"
else
  mount -o remount,ro /data && echo "hangar-init: power button: /data read-only"
fi
poweroff -f
PWRF
chmod 0755 /etc/acpi/PWRF/00000080
acpid -l /var/log/acpid.log
pidof acpid >/dev/null || say "acpid is not running; QMP system_powerdown will be ignored"

echo HANGAR-READY
while :; do sleep 3600; done
