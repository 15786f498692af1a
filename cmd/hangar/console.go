package main

import (
	"log/slog"

	"hangar/internal/changes"
	"hangar/internal/core"
	"hangar/internal/hypervisor/qemu"
	"hangar/internal/service"
	"hangar/internal/web"
)

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
