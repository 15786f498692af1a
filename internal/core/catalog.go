package core

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Region is a Paperspace region (spec §4.1).
type Region struct {
	Name  string // long form used on the wire, e.g. "East Coast (NY2)"
	Code  string // NY2
	Num   int    // regionId of the network APIs
	Label string
}

// MachineType is a machine type with what the sources say about it (spec §4.3). Nil fields are
// unknown and stay unset until the operator supplies them.
type MachineType struct {
	Name        string  `json:"name"`
	Class       string  `json:"class"` // "grid", "gpu" or "cpu"
	CPUs        *int    `json:"cpus,omitempty"`
	RAM         *int64  `json:"ramBytes,omitempty"`
	GPU         *string `json:"gpu,omitempty"`
	HourlyRate  *string `json:"hourlyRate,omitempty"`  // decimal string, e.g. "0.51"
	MonthlyRate *string `json:"monthlyRate,omitempty"` // decimal string
}

// Catalog is the set of regions, machine types, storage sizes and rates Hangar offers.
type Catalog struct {
	Regions      []Region
	Types        map[string]*MachineType
	TypeOrder    []string
	StorageSizes []int               // GB
	StorageRates map[int]string      // GB -> monthly rate, decimal string
	Templates    []Template          // public templates seeded on first start
	DefaultFleet map[string][]string // region -> machine types offered by the default sim fleet
}

func ptr[T any](v T) *T { return &v }

const gib = int64(1) << 30

// DefaultCatalog returns the catalog seeded only with values the spec sources (§4).
func DefaultCatalog() *Catalog {
	gpu := func(name, card, rate string) *MachineType {
		return &MachineType{Name: name, Class: "gpu", CPUs: ptr(8), RAM: ptr(30 * gib), GPU: ptr(card), HourlyRate: ptr(rate)}
	}
	cpu := func(name string, cpus int, ram int64) *MachineType {
		mt := &MachineType{Name: name, Class: "cpu"}
		if cpus > 0 {
			mt.CPUs, mt.RAM = ptr(cpus), ptr(ram)
		}
		return mt
	}
	types := []*MachineType{
		{Name: "Air", Class: "grid", CPUs: ptr(4), RAM: ptr(int64(8589938688)), GPU: ptr("GRID K160Q (2GB)")},
		{Name: "Standard", Class: "grid"}, {Name: "Pro", Class: "grid"}, {Name: "Advanced", Class: "grid"},
		gpu("GPU+", "Quadro M4000", "0.45"), gpu("P4000", "Quadro P4000", "0.51"),
		gpu("P5000", "Quadro P5000", "0.78"), gpu("P6000", "Quadro P6000", "1.10"),
		gpu("V100", "Tesla V100", "2.30"),
		cpu("C1", 1, 536870912), cpu("C2", 1, gib), cpu("C3", 2, 2*gib), cpu("C4", 0, 0),
		cpu("C5", 4, 8*gib), cpu("C6", 0, 0), cpu("C7", 12, 30*gib), cpu("C8", 0, 0),
		cpu("C9", 0, 0), cpu("C10", 0, 0),
	}
	c := &Catalog{
		Regions: []Region{
			{Name: "East Coast (NY2)", Code: "NY2", Num: 1, Label: "near New York City"},
			{Name: "West Coast (CA1)", Code: "CA1", Num: 2, Label: "near San Francisco"},
			{Name: "Europe (AMS1)", Code: "AMS1", Num: 3, Label: "near Amsterdam"},
		},
		Types:        map[string]*MachineType{},
		StorageSizes: []int{50, 100, 250, 500, 1000, 2000},
		StorageRates: map[int]string{50: "5.00", 100: "7.00", 250: "10.00"},
		Templates:    defaultTemplates(),
	}
	for _, t := range types {
		c.Types[t.Name] = t
		c.TypeOrder = append(c.TypeOrder, t.Name)
	}
	all := slices.Clone(c.TypeOrder)
	noCA1 := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "GPU+" || s == "V100" })
	c.DefaultFleet = map[string][]string{"East Coast (NY2)": all, "West Coast (CA1)": noCA1, "Europe (AMS1)": all}
	return c
}

// Region returns the region named name (long form; the short code is accepted
// case-insensitively too).
func (c *Catalog) Region(name string) (Region, bool) {
	for _, r := range c.Regions {
		if r.Name == name || strings.EqualFold(r.Code, name) {
			return r, true
		}
	}
	return Region{}, false
}

// RegionByNum returns the region with the given regionId.
func (c *Catalog) RegionByNum(n int) (Region, bool) {
	for _, r := range c.Regions {
		if r.Num == n {
			return r, true
		}
	}
	return Region{}, false
}

// Type returns the machine type named name (exact spelling).
func (c *Catalog) Type(name string) (*MachineType, bool) {
	t, ok := c.Types[name]
	return t, ok
}

// ValidSize reports whether gb is an offered storage size.
func (c *Catalog) ValidSize(gb int) bool { return slices.Contains(c.StorageSizes, gb) }

// AllowedOn reports whether machine type mt may run a template of the given OS family:
// Windows cannot run C1–C10, Linux cannot run the GRID types (spec §2.2).
func (mt *MachineType) AllowedOn(osFamily string) bool {
	switch osFamily {
	case OSWindows:
		return mt.Class != "cpu"
	case OSLinux:
		return mt.Class != "grid"
	}
	return true
}

// CatalogOverrides is the operator's catalog file: machine-type specs and rates, storage rates.
type CatalogOverrides struct {
	MachineTypes map[string]MachineType `json:"machineTypes"`
	StorageRates map[string]string      `json:"storageRates"`
}

// Apply merges the overrides of a JSON catalog file into c. Only existing machine types can be
// changed; fields left out keep their value.
func (c *Catalog) Apply(data []byte) error {
	var o CatalogOverrides
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	for name, v := range o.MachineTypes {
		mt, ok := c.Types[name]
		if !ok {
			return fmt.Errorf("catalog: unknown machine type %q", name)
		}
		for _, r := range []*string{v.HourlyRate, v.MonthlyRate} {
			if r != nil && !validRate(*r) {
				return fmt.Errorf("catalog: %s: rate %q is not a decimal with two places", name, *r)
			}
		}
		if v.CPUs != nil {
			mt.CPUs = v.CPUs
		}
		if v.RAM != nil {
			mt.RAM = v.RAM
		}
		if v.GPU != nil {
			mt.GPU = v.GPU
		}
		if v.HourlyRate != nil {
			mt.HourlyRate = v.HourlyRate
		}
		if v.MonthlyRate != nil {
			mt.MonthlyRate = v.MonthlyRate
		}
	}
	for k, v := range o.StorageRates {
		var gb int
		if _, err := fmt.Sscanf(k, "%d", &gb); err != nil || !c.ValidSize(gb) {
			return fmt.Errorf("catalog: storage size %q is not one of %v", k, c.StorageSizes)
		}
		if !validRate(v) {
			return fmt.Errorf("catalog: storage rate %q is not a decimal with two places", v)
		}
		c.StorageRates[gb] = v
	}
	return nil
}

func validRate(s string) bool {
	i := strings.IndexByte(s, '.')
	if i < 1 || len(s)-i != 3 {
		return false
	}
	for j, r := range s {
		if j != i && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func defaultTemplates() []Template {
	// Public templates listed in spec §4.4 (DO-templates).
	rows := []struct{ id, label, os, dt string }{
		{"ta1b3le7", "Windows 10 Pro", "Windows 10 (Pro) - Unlicensed", "2019-05-31T15:46:57.423Z"},
		{"tpx5mr6b", "RStudio", "Ubuntu 16.04 Desktop", "2018-04-06T02:55:42.105Z"},
		{"t9taj00e", "", "Centos 7 Server", "2022-01-23T20:47:06.707Z"},
		{"tz0ireoj", "Ubuntu 20.04 Desktop", "Ubuntu 20.04 Desktop", "2021-10-21T05:52:13.579Z"},
		{"tv00h6iv", "Windows 2012 R2 Grid", "Windows 2012 R2 - Licensed", "2020-07-30T17:34:04.385Z"},
		{"tnr2oh1m", "Windows 10", "Windows 10 (Server 2022) - Licensed", "2021-04-08T16:39:03.908Z"},
		{"tzd1e8km", "Fast.ai", "Ubuntu 16.04 Server", "2020-03-16T03:55:18.513Z"},
		{"tmun4o2g", "Ubuntu 18.04 GPU Worker Cuda 11", "Ubuntu 18.04 Server", "2020-06-21T20:35:00.467Z"},
		{"tkni3aa4", "Ubuntu 20.04 Server", "Ubuntu 20.04 Server", "2021-10-20T00:50:49.780Z"},
		{"t04azgph", "Ubuntu 18.04 Server", "Ubuntu 18.04 Server", "2018-06-15T06:00:34.531Z"},
		{"tpi7gqht", "Ubuntu 18.04 CPU Worker", "Ubuntu 18.04 Server", "2020-07-08T18:18:08.248Z"},
		{"twnlo3zj", "Ml in a Box 20.04", "Ubuntu 20.04 MLiaB", "2021-10-14T23:50:00.225Z"},
		{"tl1h5hec", "Windows 10 Pro", "Windows 10 (Pro) - Unlicensed", "2019-05-16T17:41:22.919Z"},
		{"tk9izniv", "Windows 10", "Windows 10 (Server 2022) - Licensed", "2019-02-08T17:59:04.036Z"},
		{"taoz1uxr", "Windows 10", "Windows 10 (Server 2022) - Licensed", "2019-02-08T18:00:34.729Z"},
	}
	out := make([]Template, 0, len(rows))
	for _, r := range rows {
		t := Template{ID: r.id, Name: "paperspace/" + r.id, OS: r.os}
		if r.label != "" {
			t.Label = ptr(r.label)
		}
		t.OSFamily, t.AgentType = ClassifyOS(r.os)
		t.Created = MustParseTime(r.dt)
		out = append(out, t)
	}
	return out
}

// ClassifyOS derives the OS family and agent type from an OS description (spec §4.9 REC).
func ClassifyOS(os string) (family, agentType string) {
	l := strings.ToLower(os)
	if strings.Contains(l, "windows") {
		return OSWindows, "WindowsDesktop"
	}
	if strings.Contains(l, "desktop") || strings.Contains(l, "mliab") || strings.Contains(l, "ml in a box") {
		return OSLinux, "LinuxDesktop"
	}
	return OSLinux, "LinuxHeadless"
}
