package api

// This file holds the wire types of the agent protocol (/hangar/agent/v1/…), spoken between
// `hangar agent` and the control plane; docs/agent-protocol.md describes it. Times are RFC 3339
// strings with nanoseconds in UTC.

// AgentPrefix is the path prefix of every agent protocol route. The version is in the path:
// a change that old agents cannot read gets a new prefix.
const AgentPrefix = "/hangar/agent/v1"

// AgentProtocol is the protocol version an agent sends in every request and the control
// plane answers with.
const AgentProtocol = 1

// CreateJoinTokenRequest is the body of POST /hangar/v1/hosts/tokens. TTL is a Go duration
// ("1h", the default).
type CreateJoinTokenRequest struct {
	Region string `json:"region"`
	TTL    string `json:"ttl,omitempty"`
}

// JoinToken is a new join token: shown once, stored hashed.
type JoinToken struct {
	Token   string `json:"token"`
	Expires string `json:"expires"`
}

// AgentJoinRequest is the body of POST /hangar/agent/v1/join: a host registering with a
// join token.
type AgentJoinRequest struct {
	Protocol    int                 `json:"protocol"`
	Token       string              `json:"token"`
	Name        string              `json:"name"`
	Driver      string              `json:"driver"`
	Accelerator string              `json:"accelerator,omitempty"`
	Capacity    map[string]int      `json:"capacity"`
	GPUs        map[string][]string `json:"gpus,omitempty"`
	Version     string              `json:"version"`
}

// AgentJoinResponse is the answer to a join: the host's id and the long-lived credential the
// agent sends as "Authorization: Bearer …" from then on.
type AgentJoinResponse struct {
	Protocol   int    `json:"protocol"`
	HostID     string `json:"hostId"`
	Region     string `json:"region"`
	Credential string `json:"credential"`
	// HeartbeatMS is how often the agent must sync at least.
	HeartbeatMS int64 `json:"heartbeatMs"`
}

// AgentSyncRequest is the body of POST /hangar/agent/v1/sync, the agent's heartbeat: it
// carries the outcomes of finished operations and, when Inventory is set, the machines whose
// VMs the host really runs. WaitMS asks the control plane to hold the answer until an
// operation is pending or that long has passed (long poll).
type AgentSyncRequest struct {
	Protocol  int           `json:"protocol"`
	Version   string        `json:"version"`
	Results   []AgentResult `json:"results,omitempty"`
	Inventory *[]string     `json:"inventory,omitempty"`
	// Known are the operations the agent holds already (running, or finished with a result
	// in this request or a later one): the long poll waits for others.
	Known  []string `json:"known,omitempty"`
	WaitMS int64    `json:"waitMs,omitempty"`
}

// AgentSyncResponse is the control plane's answer to a sync: Pending lists every operation of
// the host not finished yet (an operation the agent runs that is missing from it was
// superseded: the agent stops it), Ops the pending ones the agent did not say it knows.
type AgentSyncResponse struct {
	Protocol    int       `json:"protocol"`
	HostID      string    `json:"hostId"`
	State       string    `json:"state"` // up, draining
	Pending     []string  `json:"pending"`
	Ops         []AgentOp `json:"ops"`
	HeartbeatMS int64     `json:"heartbeatMs"`
	// WantInventory asks the agent to send its inventory with the next sync.
	WantInventory bool `json:"wantInventory,omitempty"`
}

// AgentOp is an operation for the agent's local driver. Kind is advance, destroy, snapshot,
// revert or deleteSnapshot; SnapshotID is set for the snapshot kinds.
type AgentOp struct {
	ID         string        `json:"id"`
	Kind       string        `json:"kind"`
	Machine    AgentMachine  `json:"machine"`
	Template   AgentTemplate `json:"template"`
	Attempt    int           `json:"attempt"`
	Since      string        `json:"since"`
	SnapshotID string        `json:"snapshotId,omitempty"`
	Script     *AgentScript  `json:"script,omitempty"`
	Network    *AgentNetwork `json:"network,omitempty"`
	UserEmail  string        `json:"userEmail,omitempty"`
	// SSHKeys are the assigned user's OpenSSH public keys, which the guest authorizes for its
	// login user.
	SSHKeys []string `json:"sshKeys,omitempty"`
}

// AgentMachine is what a driver needs of a machine.
type AgentMachine struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	MachineType string  `json:"machineType"`
	Region      string  `json:"region"`
	TemplateID  string  `json:"templateId"`
	SizeGB      int     `json:"sizeGb"`
	CPUs        int     `json:"cpus"`
	RAM         *int64  `json:"ram,omitempty"`
	GPU         *string `json:"gpu,omitempty"`
	AgentType   string  `json:"agentType,omitempty"`
	NetworkID   *string `json:"networkId,omitempty"`
	PrivateIP   *string `json:"privateIp,omitempty"`
	PublicIP    *string `json:"publicIp,omitempty"`
	Booted      bool    `json:"booted"`
}

// AgentTemplate is the machine's template; Image, Kernel and Initrd are paths on the host.
type AgentTemplate struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	OS        string `json:"os"`
	OSFamily  string `json:"osFamily"`
	AgentType string `json:"agentType,omitempty"`
	Image     string `json:"image,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	Initrd    string `json:"initrd,omitempty"`
}

// AgentScript is the startup script to run on this boot.
type AgentScript struct {
	ID      string `json:"id"`
	Text    string `json:"text"`
	RunOnce bool   `json:"runOnce"`
}

// AgentNetwork is the machine's private network.
type AgentNetwork struct {
	ID   string `json:"id"`
	CIDR string `json:"cidr"`
	VLAN int    `json:"vlan"`
}

// AgentResult is the outcome of an operation: Done, or an Error (Permanent: the operation
// failed for good; else the control plane asks again later).
type AgentResult struct {
	OpID      string      `json:"opId"`
	Done      bool        `json:"done"`
	Error     string      `json:"error,omitempty"`
	Permanent bool        `json:"permanent,omitempty"`
	Facts     *AgentFacts `json:"facts,omitempty"`
}

// AgentFacts are what the driver learnt about the machine (hypervisor.Facts).
type AgentFacts struct {
	OS           *string `json:"os,omitempty"`
	CPUs         int     `json:"cpus,omitempty"`
	RAM          *int64  `json:"ram,omitempty"`
	GPU          *string `json:"gpu,omitempty"`
	StorageTotal *int64  `json:"storageTotal,omitempty"`
	StorageUsed  *int64  `json:"storageUsed,omitempty"`
	ScriptRan    *string `json:"scriptRan,omitempty"`
}
