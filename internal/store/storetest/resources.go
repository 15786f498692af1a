package storetest

import (
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

func testTemplates(t *testing.T, b *bundle) {
	public := core.Template{ID: "tpub", Name: "paperspace/tpub", OS: "Ubuntu 20.04 Server", OSFamily: core.OSLinux,
		AgentType: "LinuxHeadless", Created: at(2)}
	mine := core.Template{ID: "tmine", Name: "custom", Label: ptr("My image"), OS: "Windows 10",
		OSFamily: core.OSWindows, AgentType: "WindowsDesktop", TeamID: ptr("te1"), UserID: ptr("u1"),
		Region: ptr("East Coast (NY2)"), Image: "/images/w.qcow2", Kernel: "/k", Initrd: "/i", Created: at(1)}
	theirs := core.Template{ID: "ttheirs", Name: "other", OS: "Ubuntu", OSFamily: core.OSLinux,
		AgentType: "LinuxHeadless", TeamID: ptr("te2"), Created: at(3)}
	all := []core.Template{public, mine, theirs}
	b.write(t, func(tx store.Tx) error {
		for i := range all {
			if err := tx.CreateTemplate(&all[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range all {
		equal(t, "GetTemplate", get(t, b, func(tx store.Tx) (core.Template, error) { return tx.GetTemplate(want.ID) }), want)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Template, error) { return tx.GetTemplate("nope") })
	equal(t, "ListTemplates(all)", get(t, b, func(tx store.Tx) ([]core.Template, error) { return tx.ListTemplates("") }),
		[]core.Template{mine, public, theirs})
	equal(t, "ListTemplates(te1)", get(t, b, func(tx store.Tx) ([]core.Template, error) { return tx.ListTemplates("te1") }),
		[]core.Template{mine, public})
	equal(t, "ListTemplates(te3)", get(t, b, func(tx store.Tx) ([]core.Template, error) { return tx.ListTemplates("te3") }),
		[]core.Template{public})

	dup := core.Template{ID: "tpub", Name: "x", Created: at(0)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateTemplate(&dup) })
	b.write(t, func(tx store.Tx) error { return tx.DeleteTemplate("tmine") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Template, error) { return tx.GetTemplate("tmine") })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteTemplate("tmine") })
	equal(t, "ListTemplates after delete",
		get(t, b, func(tx store.Tx) ([]core.Template, error) { return tx.ListTemplates("") }),
		[]core.Template{public, theirs})
}

func testNetworks(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	nets := []core.Network{
		{ID: "n1", Name: "one", TeamID: "te1", Region: "East Coast (NY2)", CIDR: "10.64.21.0/24", VLAN: 21,
			Managed: true, Created: at(1)},
		{ID: "n2", Name: "two", TeamID: "te2", Region: "Europe (AMS1)", CIDR: "10.64.22.0/24", VLAN: 22,
			Created: at(0)},
		{ID: "n3", Name: "three", TeamID: "te1", Region: "East Coast (NY2)", CIDR: "10.64.23.0/24", VLAN: 23,
			Created: at(2)},
	}
	b.write(t, func(tx store.Tx) error {
		for i := range nets {
			if err := tx.CreateNetwork(&nets[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i := 1; i < len(nets); i++ {
		if nets[i].Num <= nets[i-1].Num || nets[0].Num <= 0 {
			t.Fatalf("CreateNetwork numbers %d, %d, %d: want positive and increasing", nets[0].Num, nets[1].Num, nets[2].Num)
		}
	}
	for _, want := range nets {
		equal(t, "GetNetwork", get(t, b, func(tx store.Tx) (core.Network, error) { return tx.GetNetwork(want.ID) }), want)
		equal(t, "GetNetworkByNum",
			get(t, b, func(tx store.Tx) (core.Network, error) { return tx.GetNetworkByNum(want.Num) }), want)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Network, error) { return tx.GetNetwork("nope") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Network, error) { return tx.GetNetworkByNum(999) })
	equal(t, "ListNetworks(te1)", get(t, b, func(tx store.Tx) ([]core.Network, error) { return tx.ListNetworks("te1") }),
		[]core.Network{nets[0], nets[2]})
	equal(t, "ListNetworks(all)", get(t, b, func(tx store.Tx) ([]core.Network, error) { return tx.ListNetworks("") }), nets)
	dup := nets[0]
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateNetwork(&dup) })

	// CountNetworkMachines counts live machines only.
	m1 := bareMachine("ps1", "te1", "u1", at(0))
	m1.NetworkID = ptr("n1")
	m2 := bareMachine("ps2", "te1", "u1", at(0))
	m2.NetworkID = ptr("n1")
	m3 := bareMachine("ps3", "te1", "u1", at(0))
	createMachines(t, b, m1, m2, m3)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps2", at(5)) })
	equal(t, "CountNetworkMachines(n1)", get(t, b, func(tx store.Tx) (int, error) { return tx.CountNetworkMachines("n1") }), 1)
	equal(t, "CountNetworkMachines(n3)", get(t, b, func(tx store.Tx) (int, error) { return tx.CountNetworkMachines("n3") }), 0)

	b.write(t, func(tx store.Tx) error { return tx.DeleteNetwork("n3") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Network, error) { return tx.GetNetwork("n3") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Network, error) { return tx.GetNetworkByNum(nets[2].Num) })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteNetwork("n3") })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteNetwork("nope") })
	equal(t, "ListNetworks after delete",
		get(t, b, func(tx store.Tx) ([]core.Network, error) { return tx.ListNetworks("te1") }), []core.Network{nets[0]})
	// A later network never reuses a number.
	n4 := core.Network{ID: "n4", Name: "four", TeamID: "te1", Region: "East Coast (NY2)", CIDR: "10.64.24.0/24", VLAN: 24, Created: at(3)}
	b.write(t, func(tx store.Tx) error { return tx.CreateNetwork(&n4) })
	if n4.Num <= nets[2].Num {
		t.Fatalf("CreateNetwork after delete: Num %d, want above %d", n4.Num, nets[2].Num)
	}
}

func testScripts(t *testing.T, b *bundle) {
	seedAccounts(t, b)
	s1 := core.Script{ID: "sc1", OwnerType: "user", OwnerID: "u1", TeamID: "te1", Name: "setup",
		Description: ptr("installs things"), Text: "#!/bin/sh\necho hi\n", Enabled: true, RunOnce: true, Created: at(2)}
	s2 := core.Script{ID: "sc2", OwnerType: "user", OwnerID: "u2", TeamID: "te1", Name: "setup", Text: "x",
		Created: at(1)}
	s3 := core.Script{ID: "sc3", OwnerType: "team", OwnerID: "te2", TeamID: "te2", Name: "setup", Text: "y",
		Enabled: true, Created: at(0)}
	scripts := []core.Script{s1, s2, s3}
	b.write(t, func(tx store.Tx) error {
		for i := range scripts {
			if err := tx.CreateScript(&scripts[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range scripts {
		equal(t, "GetScript", get(t, b, func(tx store.Tx) (core.Script, error) { return tx.GetScript(want.ID) }), want)
	}
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Script, error) { return tx.GetScript("nope") })
	equal(t, "ListScripts(te1)", get(t, b, func(tx store.Tx) ([]core.Script, error) { return tx.ListScripts("te1") }),
		[]core.Script{s2, s1})

	dupID := core.Script{ID: "sc1", OwnerType: "user", OwnerID: "u1", TeamID: "te1", Name: "other", Created: at(0)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateScript(&dupID) })
	dupName := core.Script{ID: "sc9", OwnerType: "user", OwnerID: "u1", TeamID: "te1", Name: "setup", Created: at(0)}
	b.writeCode(t, core.Conflict, func(tx store.Tx) error { return tx.CreateScript(&dupName) })

	// ListScriptRuns: live machines with the script, with their last run.
	m1 := bareMachine("ps1", "te1", "u1", at(1))
	m1.ScriptID, m1.LastRun = ptr("sc1"), ptr(at(4))
	m2 := bareMachine("ps2", "te1", "u1", at(0))
	m2.ScriptID = ptr("sc1")
	m3 := bareMachine("ps3", "te1", "u1", at(2))
	m3.ScriptID = ptr("sc1")
	m4 := bareMachine("ps4", "te1", "u1", at(2))
	m4.ScriptID = ptr("sc2")
	createMachines(t, b, m1, m2, m3, m4)
	b.write(t, func(tx store.Tx) error { return tx.DeleteMachine("ps3", at(5)) })
	equal(t, "ListScriptRuns", get(t, b, func(tx store.Tx) ([]core.ScriptRun, error) { return tx.ListScriptRuns("sc1") }),
		[]core.ScriptRun{{MachineID: "ps2"}, {MachineID: "ps1", LastRun: ptr(at(4))}})

	// DeleteScript detaches the script from its machines.
	b.write(t, func(tx store.Tx) error { return tx.DeleteScript("sc1") })
	getCode(t, b, core.NotFound, func(tx store.Tx) (core.Script, error) { return tx.GetScript("sc1") })
	b.writeCode(t, core.NotFound, func(tx store.Tx) error { return tx.DeleteScript("sc1") })
	for _, id := range []string{"ps1", "ps2"} {
		m := get(t, b, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine(id) })
		if m.ScriptID != nil {
			t.Errorf("machine %s: ScriptID %q after DeleteScript, want nil", id, *m.ScriptID)
		}
	}
	if m := get(t, b, func(tx store.Tx) (core.Machine, error) { return tx.GetMachine("ps4") }); m.ScriptID == nil || *m.ScriptID != "sc2" {
		t.Errorf("machine ps4 lost its other script")
	}
	equal(t, "ListScriptRuns after delete",
		len(get(t, b, func(tx store.Tx) ([]core.ScriptRun, error) { return tx.ListScriptRuns("sc1") })), 0)
	// The name is free again.
	again := core.Script{ID: "sc7", OwnerType: "user", OwnerID: "u1", TeamID: "te1", Name: "setup", Created: at(0)}
	b.write(t, func(tx store.Tx) error { return tx.CreateScript(&again) })
}
