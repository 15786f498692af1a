package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"hangar/api"
)

// identity is what the agent keeps in <data>/agent.json (0600): the credential of its host
// and how to reach and trust the control plane.
type identity struct {
	Server     string `json:"server"`
	HostID     string `json:"hostId"`
	Name       string `json:"name"`
	Region     string `json:"region"`
	Credential string `json:"credential"`
	// Pin is the hex SHA-256 of the control plane's certificate public key ("" without one).
	Pin string `json:"pin,omitempty"`
	// Token is the join token the credential was got with (its id only), so that the same
	// token is not tried again.
	TokenID string `json:"tokenId"`
}

const identityFile = "agent.json"

// readIdentity returns the saved identity, or ok=false when there is none.
func readIdentity(dir string) (id identity, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, false, fmt.Errorf("%s: %w", filepath.Join(dir, identityFile), err)
	}
	return id, true, nil
}

func (id identity) write(dir string) error {
	return writeJSONFile(filepath.Join(dir, identityFile), id)
}

// writeJSONFile replaces path with v atomically and durably (0600).
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// journal is the agent's durable record (<data>/journal.json): the machines whose VMs it
// holds and the outcomes of the operations it finished.
type journal struct {
	// VMs are the machines the host holds (provisioned, not destroyed), with whether their
	// VM runs.
	VMs map[string]*vm `json:"vms"`
	// Done are finished operations by id, with their result.
	Done map[string]doneOp `json:"done"`
}

type vm struct {
	Machine api.AgentMachine `json:"machine"`
	Running bool             `json:"running"`
}

type doneOp struct {
	Result api.AgentResult `json:"result"`
	At     time.Time       `json:"at"`
	// Reported is set once a sync carrying the result was answered.
	Reported bool `json:"reported"`
}

const journalFile = "journal.json"

// keepDone is how long finished operations stay in the journal: longer than the control
// plane keeps finished operations (an hour), so that any redelivery is answered from it.
const keepDone = 3 * time.Hour

func readJournal(dir string) (*journal, error) {
	j := &journal{VMs: map[string]*vm{}, Done: map[string]doneOp{}}
	b, err := os.ReadFile(filepath.Join(dir, journalFile))
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, j); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, journalFile), err)
	}
	if j.VMs == nil {
		j.VMs = map[string]*vm{}
	}
	if j.Done == nil {
		j.Done = map[string]doneOp{}
	}
	return j, nil
}

func (j *journal) write(dir string, now time.Time) error {
	for id, d := range j.Done {
		if d.Reported && now.Sub(d.At) > keepDone {
			delete(j.Done, id)
		}
	}
	return writeJSONFile(filepath.Join(dir, journalFile), j)
}

// running lists the machines whose VMs run, sorted.
func (j *journal) running() []string {
	out := []string{}
	for id, v := range j.VMs {
		if v.Running {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
