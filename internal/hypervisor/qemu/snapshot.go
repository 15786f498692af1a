package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/qemu/qmp"
)

// Snapshot implements hypervisor.Snapshotter with an internal qcow2 snapshot: over QMP while
// the VM runs, with qemu-img while it is off.
func (d *Driver) Snapshot(ctx context.Context, m core.Machine, id string) error {
	vd := d.dir(m)
	if has, err := d.hasSnapshot(ctx, vd, id); err != nil || has {
		return err
	}
	if vd.pid() != 0 {
		return d.qmpArgs(ctx, vd, "blockdev-snapshot-internal-sync", map[string]string{"device": "disk0", "name": id})
	}
	return d.qemuImg(ctx, "snapshot", "-c", id, vd.disk())
}

// Revert implements hypervisor.Snapshotter; the VM must be off.
func (d *Driver) Revert(ctx context.Context, m core.Machine, id string) error {
	vd := d.dir(m)
	if vd.pid() != 0 {
		return fmt.Errorf("qemu: machine %s is running; stop it before reverting", m.ID)
	}
	if has, err := d.hasSnapshot(ctx, vd, id); err != nil {
		return err
	} else if !has {
		return hypervisor.Permanentf("snapshot %s of machine %s does not exist", id, m.ID)
	}
	return d.qemuImg(ctx, "snapshot", "-a", id, vd.disk())
}

// DeleteSnapshot implements hypervisor.Snapshotter.
func (d *Driver) DeleteSnapshot(ctx context.Context, m core.Machine, id string) error {
	vd := d.dir(m)
	if _, err := os.Stat(vd.disk()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if has, err := d.hasSnapshot(ctx, vd, id); err != nil || !has {
		return err
	}
	if vd.pid() != 0 {
		return d.qmpArgs(ctx, vd, "blockdev-snapshot-delete-internal-sync", map[string]string{"device": "disk0", "name": id})
	}
	return d.qemuImg(ctx, "snapshot", "-d", id, vd.disk())
}

func (d *Driver) hasSnapshot(ctx context.Context, vd vmDir, id string) (bool, error) {
	info, err := d.imageInfo(ctx, vd.disk())
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(info.Snapshots, func(s struct {
		Name string `json:"name"`
	}) bool {
		return s.Name == id
	}), nil
}

func (d *Driver) qmpArgs(ctx context.Context, vd vmDir, command string, args any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, vd.qmp())
	if err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	defer c.Close()
	return c.Execute(ctx, command, args, nil)
}
