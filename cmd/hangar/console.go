package main

import (
	"context"
	"log/slog"

	"hangar/internal/changes"
	"hangar/internal/changes/pgnotify"
	"hangar/internal/core"
	"hangar/internal/hypervisor/qemu"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/web"
)

// liveHub is the change hub of the console's live views, with its relay to and from other
// replicas: run relay until the server stops.
type liveHub struct {
	*changes.Hub
	relay func(context.Context)
}

// liveChanges wraps the store so that every committed machine change reaches the console's
// live views. With replicas on PostgreSQL (shared) the changes also go to and come from the
// other replicas over LISTEN/NOTIFY.
func (c *ServeCmd) liveChanges(st store.Store, shared bool, log *slog.Logger) (store.Store, liveHub) {
	hub := changes.NewHub()
	if !shared {
		return changes.Track(st, hub), liveHub{hub, func(context.Context) {}}
	}
	relay := pgnotify.New(c.Database, hub, log)
	return changes.Track(st, relay), liveHub{hub, func(ctx context.Context) { _ = relay.Run(ctx) }}
}

// console builds the web console of a serve: the service with the API's authorization, the
// change hub of the live views, and the qemu driver's serial consoles.
func (c *ServeCmd) console(svc *service.Service, hub *changes.Hub, d drivers, log *slog.Logger) *web.Server {
	cfg := web.Config{Service: svc, Changes: hub, Logger: log, ExternalURL: c.ExternalURL,
		LoginPerEmail: c.LoginPerEmail, LoginPerAddress: c.LoginPerAddress}
	if d.qemu != nil {
		cfg.Serial = qemuSerial{d.qemu}
	}
	return web.New(cfg)
}

// qemuSerial gives the console the serial logs that the qemu driver writes on this host.
type qemuSerial struct{ d *qemu.Driver }

func (q qemuSerial) SerialLog(m core.Machine) (string, bool) { return q.d.SerialLog(m), true }
