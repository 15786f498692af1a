// Package cidata writes NoCloud seeds: the read-only ISO 9660 disk labelled "cidata" that
// cloud-init (and the /init of Hangar's test template, see internal/testimage) reads at boot.
//
// A seed holds, in cloud-init's documented formats:
//
//   - meta-data: instance-id (the machine id) and local-hostname;
//
//   - network-config, version 2: the interface with the machine's MAC, renamed eth0, gets
//     the private address and a default route (no DHCP);
//
//   - user-data, a MIME multi-part message: a #cloud-config part (hostname, the login user
//     "paperspace" with passwordless sudo and the SSH keys of the machine's assigned user, no
//     password logins), a text/x-shellscript-per-boot part that rewrites the login user's
//     authorized_keys on every boot (so changed keys reach a machine on its next boot), and,
//     when the machine has a startup script, a part named startup-script that runs it: per
//     boot (text/x-shellscript-per-boot) for runOnce false, per instance (text/x-shellscript,
//     the first boot only) for runOnce true. That part is a small wrapper carrying the script
//     in base64; it runs the script as root and writes "rc=N time=UNIX" to StatusFile, which
//     the qemu driver reads through the guest agent;
//
//   - hangar.env, shell KEY=VALUE lines for guests without cloud-init (the test template):
//
//     HANGAR_MACHINE_ID, HANGAR_HOSTNAME, HANGAR_IP (CIDR, e.g. 10.64.0.5/24), HANGAR_GATEWAY,
//     HANGAR_SCRIPT_RUN_ONCE (0 or 1), HANGAR_USER
//
// cloud-init ignores files it does not know, so one seed serves both kinds of guest.
package cidata
