// Package agent is `hangar agent`: it joins a control plane with a one-time token, keeps the
// long-lived credential it gets in its data directory, and then dials out to the control
// plane (no inbound port), long-polling POST /hangar/agent/v1/sync for the operations of its
// host's machines. It runs each with the local hypervisor driver (sim or qemu, unchanged) and
// reports the outcome and the VMs it really runs.
//
//	control plane ◄──sync (results, inventory, known ops)── agent ──► local driver
//	              ──pending ops───────────────────────────►  │ journal (data dir)
//
// Duplicates are prevented in three places. The control plane derives an operation's id from
// the work (machine, kind, state and when it was entered), so every engine step of one
// transition finds the same operation. The agent writes each outcome to its journal (fsynced)
// before reporting it, so an operation delivered again after a lost answer or a restarted
// control plane is answered from the journal rather than run again. The control plane keeps
// the first result of an operation and ignores later reports. What is left — an agent killed
// while it runs an operation runs it again after its restart — is harmless because every
// driver step is idempotent (the sim driver's steps depend only on time, the qemu driver finds
// its running VM through its pidfile).
package agent
