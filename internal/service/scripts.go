package service

import (
	"context"
	"strings"

	"hangar/internal/core"
	"hangar/internal/store"
)

// MaxScriptSize is the documented limit of a startup script (16 KB).
const MaxScriptSize = 16 * 1024

// NewScript is a create-script request (spec §2.18).
type NewScript struct {
	Name        string
	Text        string
	Description *string
	Enabled     *bool // default true
	RunOnce     *bool // default false
	MachineID   *string
}

// CreateScript creates a startup script owned by the caller, and optionally assigns it to a
// machine the caller manages.
func (s *Service) CreateScript(ctx context.Context, p core.Principal, ns NewScript) (core.Script, error) {
	if err := core.CheckName("scriptName", ns.Name); err != nil {
		return core.Script{}, err
	}
	if ns.Description != nil {
		if err := core.CheckMultiline("scriptDescription", *ns.Description, core.MaxDescriptionLen); err != nil {
			return core.Script{}, err
		}
	}
	if ns.Text == "" {
		return core.Script{}, invalid("scriptText or a script file is required")
	}
	if len(ns.Text) > MaxScriptSize {
		return core.Script{}, invalid("script is %d bytes; the limit is 16 KB (%d bytes)", len(ns.Text), MaxScriptSize)
	}
	sc := core.Script{ID: core.NewID(core.PrefixScript, 7), OwnerType: "user", OwnerID: p.User.ID, TeamID: p.Team.ID,
		Name: ns.Name, Description: ns.Description, Text: ns.Text, Enabled: ns.Enabled == nil || *ns.Enabled,
		RunOnce: ns.RunOnce != nil && *ns.RunOnce, Created: s.clock.Now()}
	auditTarget(ctx, sc.ID)
	err := s.write(ctx, func(tx store.Tx) error {
		var m core.Machine
		if ns.MachineID != nil {
			var err error
			if m, err = visibleMachine(tx, p, *ns.MachineID); err != nil {
				return err
			}
			if !p.User.IsAdmin() && m.UserID != p.User.ID {
				return core.Errorf(core.NotFound, "Machine %s not found", *ns.MachineID)
			}
		}
		if err := s.env.CheckQuota(tx, p.Team.ID, core.QuotaScripts); err != nil {
			return err
		}
		if err := tx.CreateScript(&sc); err != nil {
			if core.ErrorCode(err) == core.Conflict {
				return invalid("a script named %q already exists", sc.Name)
			}
			return err
		}
		if ns.MachineID == nil {
			return nil
		}
		m.ScriptID = &sc.ID
		return tx.UpdateMachine(&m)
	})
	return sc, err
}

// visibleScript returns a script of the caller's team. NotFound otherwise.
func visibleScript(tx store.Tx, p core.Principal, id string) (core.Script, error) {
	sc, err := tx.GetScript(strings.TrimSpace(id))
	if err == nil && sc.TeamID != p.Team.ID {
		err = core.Errorf(core.NotFound, "script %s not found", id)
	}
	if core.IsNotFound(err) {
		return sc, core.Errorf(core.NotFound, "script %s not found", id)
	}
	return sc, err
}

// ScriptDetail is a script with the machines it is assigned to.
type ScriptDetail struct {
	Script core.Script
	Runs   []core.ScriptRun
}

// GetScript returns a team script with its machines (spec §2.21).
func (s *Service) GetScript(ctx context.Context, p core.Principal, id string) (ScriptDetail, error) {
	var d ScriptDetail
	err := s.read(ctx, func(tx store.Tx) error {
		var err error
		if d.Script, err = visibleScript(tx, p, id); err != nil {
			return err
		}
		d.Runs, err = tx.ListScriptRuns(d.Script.ID)
		return err
	})
	return d, err
}

// ListScripts lists the scripts a caller sees: a team admin all of the team's, a member their
// own and the team-owned ones.
func (s *Service) ListScripts(ctx context.Context, p core.Principal) ([]core.Script, error) {
	var out []core.Script
	err := s.read(ctx, func(tx store.Tx) error {
		all, err := tx.ListScripts(p.Team.ID)
		for _, sc := range all {
			if p.User.IsAdmin() || sc.OwnerType == "team" || sc.OwnerID == p.User.ID {
				out = append(out, sc)
			}
		}
		return err
	})
	return out, err
}

// DestroyScript deletes a script (its owner or the team admin) and detaches it from machines.
func (s *Service) DestroyScript(ctx context.Context, p core.Principal, id string) error {
	return s.write(ctx, func(tx store.Tx) error {
		sc, err := visibleScript(tx, p, id)
		if err != nil {
			return err
		}
		if !p.User.IsAdmin() && sc.OwnerID != p.User.ID {
			return forbidden("Only the script's owner or the team administrator can destroy it")
		}
		return tx.DeleteScript(sc.ID)
	})
}
