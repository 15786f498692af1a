// Package cidata writes NoCloud seeds: the read-only ISO 9660 disk labelled "cidata" that
// cloud-init (and the /init of Hangar's test template, see internal/testimage) reads at boot.
//
// A seed holds meta-data (instance-id, local-hostname), user-data (the startup script, absent
// when there is none), network-config (version 1, one static interface) and hangar.env, shell
// KEY=VALUE lines for guests without cloud-init:
//
//	HANGAR_MACHINE_ID, HANGAR_HOSTNAME, HANGAR_IP (CIDR, e.g. 10.64.0.5/24), HANGAR_GATEWAY,
//	HANGAR_SCRIPT_RUN_ONCE (0 or 1), HANGAR_USER
package cidata
