// Package testimage builds, caches and boots Hangar's small test template: a Debian kernel as
// an uncompressed PVH vmlinux and a busybox initramfs whose /init speaks the protocol below. The
// qemu driver's tests boot it under TCG in a few seconds; the driver relies on the protocol.
//
// # Building
//
// Build (also scripts/build-test-image [OUTDIR], and Ensure for tests) resolves the ABI package
// behind linux-image-amd64 with apt-cache, downloads it with apt-get download, unpacks it with
// dpkg-deb, decodes the ELF kernel out of the bzImage's xz stream with xz (the stream uses the
// x86 BCJ filter), checks its PVH entry note, and writes a deterministic newc cpio (gzip'd) with
// the host's static busybox and its applet links, /init, and the kernel modules in Modules plus
// their depends= closure read from each module's .modinfo. The output directory, by default
// ${XDG_CACHE_HOME:-$HOME/.cache}/hangar/test-image/<kernel release>, holds vmlinux,
// initrd.img, manifest and stamp; stamp hashes the inputs (kernel package and version,
// busybox binary, /init, module list, builder version), and a directory with a current stamp
// is reused as is. Parallel builders serialise on <dir>.lock.
//
// # Guest protocol (/init)
//
// Disks: the cidata seed (see package cidata) is a read-only virtio-blk disk found with
// findfs LABEL=cidata and mounted at /seed; /init sources /seed/hangar.env. The first other
// virtio-blk disk (vda when the driver attaches the machine's disk first) is the machine's
// disk: /init makes an ext2 filesystem on it when it has no ext2/3/4 superblock (busybox
// mke2fs, one 128-byte inode per MiB so that large disks format quickly) and mounts it at /data.
//
// Serial markers, each on its own line on ttyS0 (the console):
//
//	HANGAR-KERNEL-UP          first thing /init prints (preceded by an empty line)
//	HANGAR-SCRIPT-RAN rc=<n>  the startup script ran and exited with n
//	HANGAR-READY              network, script, httpd and acpid are done
//
// Between the first two, /init loads the modules, mounts the seed and /data, and configures
// the network: lo up, eth0 up with HANGAR_IP (CIDR), a default route via HANGAR_GATEWAY and
// the hostname HANGAR_HOSTNAME. The startup script is the user-data part named
// startup-script (the MIME multi-part user-data of package cidata, split with awk): the seed's
// wrapper, which runs the script; it runs as root in /data with HANGAR_* in its environment
// and its output on the console. With
// HANGAR_SCRIPT_RUN_ONCE=1 it runs only while /data/.hangar/script-ran is absent (the file is
// written after every run), so runOnce holds across reboots of the same disk. Without a
// script there is no HANGAR-SCRIPT-RAN line. Lines starting "hangar-init:" report problems.
//
// After the script /init starts busybox httpd on port 80 serving /data, and acpid with
// /etc/acpi/PWRF/00000080: the ACPI power button (QMP system_powerdown) stops httpd, syncs,
// unmounts /data and powers off, so QEMU exits with status 0. A reboot (QMP system_reset)
// runs the kernel and /init again.
//
// # Booting
//
// Boot.Args is the QEMU command line: -M microvm (virtio-*-device, ACPI on) or q35
// (virtio-*-pci), TCG by default, KernelCmdline ("console=ttyS0 quiet panic=-1", plus
// tsc_early_khz=2000000 on microvm, without which TCG boots often hang), the machine's disk
// first, then the seed, then the network device (Boot.Wrap, e.g. ip netns exec NAME, runs QEMU
// where its tap device lives). Start runs it and scans the console; QMP runs
// one QMP command. BenchmarkPlainBoot measures exec → HANGAR-READY with this command line.
package testimage
