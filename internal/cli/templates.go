package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"hangar/api"
)

// TemplatesCmd is `hangar admin templates`.
type TemplatesCmd struct {
	List   TemplatesListCmd   `cmd:"" help:"List templates."`
	Create TemplatesCreateCmd `cmd:"" help:"Create a template, optionally with a disk image or a kernel and initrd."`
	Delete TemplatesDeleteCmd `cmd:"" help:"Delete a template."`
}

// TemplatesListCmd is `hangar admin templates list`.
type TemplatesListCmd struct {
	Team string `placeholder:"TEAM" help:"Filter by team (handle or numeric id)."`
}

// Run lists templates.
func (c *TemplatesListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	ts, err := s.api.ListTemplates(s.ctx, c.Team)
	if err != nil {
		return err
	}
	return s.table(ts, "ID\tNAME\tOS\tAGENT\tTEAM\tREGION\tBOOT", func(w io.Writer) {
		for _, t := range ts {
			printf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.OS, t.AgentType,
				orDash(t.TeamID), orDash(t.Region), boot(t))
		}
	})
}

// boot describes how a template boots under the qemu driver.
func boot(t api.Template) string {
	switch {
	case t.Image != "":
		return t.Image
	case t.Kernel != "":
		return t.Kernel + " + " + t.Initrd
	default:
		return "-"
	}
}

// TemplatesCreateCmd is `hangar admin templates create`.
type TemplatesCreateCmd struct {
	Name      string `required:"" placeholder:"NAME" help:"Template name."`
	OS        string `name:"os" required:"" placeholder:"OS" help:"Operating system, e.g. \"Ubuntu 22.04\" or \"Windows 10\"."`
	Label     string `placeholder:"LABEL" help:"Display label."`
	AgentType string `placeholder:"TYPE" help:"Agent type, e.g. LinuxHeadless (default: chosen from the OS)."`
	Region    string `placeholder:"REGION" help:"Region the template is limited to (default: all)."`
	Team      string `placeholder:"TEAM" help:"Owning team (default: a public template)."`
	Image     string `type:"path" xor:"image-kernel,image-initrd" placeholder:"FILE" help:"qcow2 disk image on the server host."`
	Kernel    string `type:"path" xor:"image-kernel" and:"direct-boot" placeholder:"FILE" help:"Kernel for direct boot on the server host (with --initrd)."`
	Initrd    string `type:"path" xor:"image-initrd" and:"direct-boot" placeholder:"FILE" help:"Initramfs for direct boot on the server host (with --kernel)."`
}

// Run creates a template. Image paths are sent absolute: the server runs on this host.
func (c *TemplatesCreateCmd) Run(g *Globals, a *Admin) error {
	req := api.CreateTemplateRequest{Name: c.Name, OS: c.OS, AgentType: c.AgentType,
		Region: c.Region, Team: c.Team, Label: c.Label}
	for _, p := range []struct {
		dst *string
		src string
	}{
		{&req.Image, c.Image}, {&req.Kernel, c.Kernel}, {&req.Initrd, c.Initrd},
	} {
		abs, err := absPath(p.src)
		if err != nil {
			return err
		}
		*p.dst = abs
	}
	s, err := a.session(g)
	if err != nil {
		return err
	}
	t, err := s.api.CreateTemplate(s.ctx, req)
	if err != nil {
		return err
	}
	return s.emit(t, func(w io.Writer) { printf(w, "created template %s (%s)\n", t.ID, t.Name) })
}

// absPath returns p made absolute, or "" for an empty p.
func absPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("path %s: %w", p, err)
	}
	return abs, nil
}

// TemplatesDeleteCmd is `hangar admin templates delete`.
type TemplatesDeleteCmd struct {
	ID string `arg:"" name:"id" help:"Template id."`
}

// Run deletes a template.
func (c *TemplatesDeleteCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	if err := s.api.DeleteTemplate(s.ctx, c.ID); err != nil {
		return err
	}
	return s.deleted("template", c.ID)
}
