package service

import (
	"context"
	"os"
	"strings"

	"hangar/internal/core"
	"hangar/internal/store"
)

// ListTemplates lists the public templates and the caller's team templates.
func (s *Service) ListTemplates(ctx context.Context, p core.Principal) ([]core.Template, error) {
	var out []core.Template
	return out, s.read(ctx, func(tx store.Tx) (err error) { out, err = tx.ListTemplates(p.Team.ID); return })
}

// NewTemplate describes a template to create.
type NewTemplate struct {
	Name, Label, OS, AgentType, Region, Team string
	Image, Kernel, Initrd                    string
}

// CreateTemplate creates a public (no team) or team template (operator only). Image files, when
// given, must exist on this host.
func (s *Service) CreateTemplate(ctx context.Context, p core.Principal, nt NewTemplate) (core.Template, error) {
	if err := requireOperator(p); err != nil {
		return core.Template{}, err
	}
	if strings.TrimSpace(nt.Name) == "" || strings.TrimSpace(nt.OS) == "" {
		return core.Template{}, invalid("name and os are required")
	}
	for _, f := range []struct{ name, v string }{{"name", nt.Name}, {"os", nt.OS}, {"label", nt.Label}} {
		if err := core.CheckText(f.name, f.v, core.MaxNameLen); err != nil {
			return core.Template{}, err
		}
	}
	for _, f := range []struct{ name, v string }{{"image", nt.Image}, {"kernel", nt.Kernel}, {"initrd", nt.Initrd}} {
		if err := core.CheckText(f.name, f.v, core.MaxParamLen); err != nil {
			return core.Template{}, err
		}
	}
	if nt.Image != "" && nt.Kernel != "" {
		return core.Template{}, invalid("give either image or kernel and initrd, not both")
	}
	if (nt.Kernel == "") != (nt.Initrd == "") {
		return core.Template{}, invalid("kernel and initrd go together")
	}
	for _, f := range []string{nt.Image, nt.Kernel, nt.Initrd} {
		if f == "" {
			continue
		}
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			return core.Template{}, invalid("file %s does not exist on the server", f)
		}
	}
	family, agent := core.ClassifyOS(nt.OS)
	if nt.AgentType != "" {
		switch nt.AgentType {
		case "WindowsDesktop", "LinuxHeadless", "LinuxDesktop":
			agent = nt.AgentType
		default:
			return core.Template{}, invalid("agentType must be WindowsDesktop, LinuxHeadless or LinuxDesktop")
		}
	}
	t := core.Template{ID: core.NewID(core.PrefixTemplate, 7), Name: strings.TrimSpace(nt.Name), OS: nt.OS,
		OSFamily: family, AgentType: agent, Image: nt.Image, Kernel: nt.Kernel, Initrd: nt.Initrd, Created: s.clock.Now()}
	if nt.Label != "" {
		t.Label = &nt.Label
	}
	if s.cfg.TemplateCheck != nil {
		if err := s.cfg.TemplateCheck(t); err != nil {
			return core.Template{}, invalid("%s", err.Error())
		}
	}
	if nt.Region != "" {
		r, ok := s.cfg.Catalog.Region(nt.Region)
		if !ok {
			return core.Template{}, invalid("Invalid region %q. Valid regions: %s", nt.Region, regionNames(s.cfg.Catalog))
		}
		t.Region = &r.Name
	}
	auditTarget(ctx, t.ID)
	err := s.write(ctx, func(tx store.Tx) error {
		if nt.Team != "" {
			team, err := resolveTeam(tx, nt.Team)
			if core.IsNotFound(err) {
				return invalid("team %q not found", nt.Team)
			}
			if err != nil {
				return err
			}
			t.TeamID, t.UserID = &team.ID, nil
		}
		return tx.CreateTemplate(&t)
	})
	return t, err
}

// AdminListTemplates lists every template, or the public ones plus a team's (operator only).
func (s *Service) AdminListTemplates(ctx context.Context, p core.Principal, teamRef string) ([]core.Template, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	var out []core.Template
	err := s.read(ctx, func(tx store.Tx) error {
		id, err := teamScope(tx, teamRef)
		if err == nil {
			out, err = tx.ListTemplates(id)
		}
		return err
	})
	return out, err
}

// DeleteTemplate deletes a template (operator only). Existing machines keep running.
func (s *Service) DeleteTemplate(ctx context.Context, p core.Principal, id string) error {
	if err := requireOperator(p); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error { return tx.DeleteTemplate(id) })
}
