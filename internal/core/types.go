package core

import "time"

// Role is a user's role. Operators stand above all teams; admins and members belong to a team.
type Role string

// Roles.
const (
	RoleOperator Role = "operator"
	RoleAdmin    Role = "admin"
	RoleMember   Role = "member"
)

// Team is an account. An individual account is a one-user team whose user is its admin.
type Team struct {
	Num        int64 // numeric database id (terraform uses it in /teams/:teamId)
	ID         string
	Name       string
	Individual bool
	Created    time.Time
}

// User is a person in a team.
type User struct {
	ID           string
	TeamID       string
	Email        string
	FirstName    string
	LastName     string
	Role         Role
	PasswordHash string // argon2id PHC string; empty means no password login
	Disabled     bool   // no login, and none of the user's credentials authenticate
	Created      time.Time
}

// IsAdmin reports whether u administers its team (operators administer their own team).
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin || u.Role == RoleOperator }

// APIKey is a stored API key. The secret itself is never stored, only its SHA-256.
type APIKey struct {
	ID       string
	UserID   string
	Name     string
	Kind     KeyKind
	Prefix   string // first characters of the secret, for display
	Hash     string // hex SHA-256 of the secret
	Created  time.Time
	LastUsed *time.Time
	Revoked  *time.Time
	Expires  *time.Time // login tokens only, in listings of credentials
}

// SSHKey is an OpenSSH public key of a user; machines assigned to the user authorize it for
// their login user (an operator-API extension: Paperspace's API has no SSH keys).
type SSHKey struct {
	ID          string
	UserID      string
	PublicKey   string // one authorized_keys line: type, base64 key and comment
	Fingerprint string // SHA256:…, as ssh-keygen -l prints it; unique per user
	Created     time.Time
}

// KeyKind says how a credential was made.
type KeyKind string

// Kinds of credentials. KindLogin is never stored as an API key: listings of a user's
// credentials show their login tokens (AccessToken) beside their keys with this kind.
const (
	KindKey      KeyKind = "key"      // hangar admin keys create
	KindAPIToken KeyKind = "apiToken" // POST /apiTokens/createPublic (the node CLI's login)
	KindSession  KeyKind = "session"  // a web console sign-in
	KindLogin    KeyKind = "login"    // a POST /users/login access token
)

// AccessToken is a login session token (the LoopBack-style access_token), stored hashed.
type AccessToken struct {
	ID      string // PrefixLoginToken…, to list and revoke it by
	Hash    string
	UserID  string
	Created time.Time
	Expires time.Time
	Revoked *time.Time
}

// Principal is an authenticated caller.
type Principal struct {
	User User
	Team Team
}

// OS families decide which machine types a template may create (spec §2.2).
const (
	OSWindows = "windows"
	OSLinux   = "linux"
)

// Template is a machine image.
type Template struct {
	ID        string
	Name      string
	Label     *string
	OS        string
	OSFamily  string // OSWindows or OSLinux
	AgentType string
	TeamID    *string // nil for public templates
	UserID    *string
	Region    *string
	Image     string // qcow2 image path (qemu driver)
	Kernel    string // direct-boot kernel (qemu driver)
	Initrd    string
	Created   time.Time
}

// Public reports whether t is a public (Paperspace-wide) template.
func (t *Template) Public() bool { return t.TeamID == nil }

// Network is a team's private network.
type Network struct {
	Num     int64 // numeric id (terraform, /teams/:id/getNetworks, DELETE /networks/:id)
	ID      string
	Name    string
	TeamID  string
	Region  string
	CIDR    string // e.g. "10.64.21.0/24"
	VLAN    int
	Managed bool
	Created time.Time
}

// Script is a startup script.
type Script struct {
	ID          string
	OwnerType   string // "user" or "team"
	OwnerID     string
	TeamID      string
	Name        string
	Description *string
	Text        string
	Enabled     bool
	RunOnce     bool
	Created     time.Time
}

// ScriptRun is one machine a script is assigned to, with its last run.
type ScriptRun struct {
	MachineID string
	LastRun   *time.Time
}

// Machine is a virtual machine as Hangar stores it.
type Machine struct {
	ID          string
	InternalID  int64
	Name        string
	TeamID      string
	UserID      string
	Region      string
	MachineType string
	BillingType string
	TemplateID  string
	SizeGB      int

	OS           *string
	RAM          *int64
	CPUs         int
	GPU          *string
	StorageTotal *int64
	StorageUsed  *int64
	AgentType    string

	ShutdownTimeoutInHours *int
	ShutdownTimeoutForces  bool
	PerformAutoSnapshot    bool
	AutoSnapshotFrequency  *string
	AutoSnapshotSaveCount  *int
	DynamicPublicIP        bool
	IsManaged              bool
	UpdatesPending         bool

	NetworkID        *string // network handle; nil on the default network
	PrivateIP        *string
	PublicIP         *string
	ScriptID         *string
	LastRun          *time.Time
	NotificationMail *string

	TakeInitialSnapshot    bool
	MarkRestorePoint       bool // markSnapshotAsRestorePoint: the initial snapshot becomes the restore point
	RestorePointSnapshotID *string
	RestorePointFrequency  *string

	State         State
	HostID        string
	HoldsCapacity bool // counted in its host's usage (every state but off)
	Booted        bool // has reached ready at least once (runOnce scripts)

	// Engine bookkeeping: the in-progress event the current transition will finish, when the
	// current state was entered, and when the engine must next look at the machine (nil: idle).
	OpEvent    string
	PhaseSince time.Time
	NextAt     *time.Time
	Attempts   int

	// Timers (durable due times, fired by the engine through NextAt): ShutdownAt is when
	// auto-shutdown stops the machine (armed only while it is ready), SnapshotAt when the next
	// automatic snapshot is taken. nil: not armed.
	ShutdownAt *time.Time
	SnapshotAt *time.Time

	Created time.Time
}

// Snapshot kinds.
const (
	SnapshotInitial = "initial" // takeInitialSnapshot, when provisioning finishes
	SnapshotAuto    = "auto"    // performAutoSnapshot, kept to the newest autoSnapshotSaveCount
)

// Snapshot is a disk snapshot of a machine, held by the hypervisor driver under ID.
type Snapshot struct {
	ID        string
	MachineID string
	Kind      string // SnapshotInitial or SnapshotAuto
	Created   time.Time
	// Pruned marks a snapshot dropped by retention whose driver copy may still exist; the
	// engine deletes it from the driver and then the row.
	Pruned bool
}

// Mail is a notification email in the outbox. It is written in the same transaction as the
// state change it reports and delivered by the mailer.
type Mail struct {
	ID        string
	MachineID string
	To        string
	Subject   string
	Body      string
	Created   time.Time
	Attempts  int        // delivery attempts made
	NextAt    *time.Time // next delivery attempt; nil when sent or given up
	Sent      *time.Time
	LastError string
}

// Event is an entry of a machine's history (spec §2.1).
type Event struct {
	Handle    string
	MachineID string
	Name      string
	State     EventState
	ErrorMsg  string
	Created   time.Time
	Modified  time.Time
	Finished  *time.Time
}

// Host is a hypervisor host with finite capacity per machine type.
type Host struct {
	ID        string
	Name      string
	Region    string
	Capacity  map[string]int // machine type -> slots
	Available bool           // false: takes no new placements (hangar admin hosts drain)
	Created   time.Time

	// Agent is what a host run by `hangar agent` reported when it joined and since; zero for
	// hosts this process runs (the sim fleet, the qemu host) and hosts made by hand.
	Agent HostAgent
}

// HostAgent is the agent side of a remote host.
type HostAgent struct {
	// CredentialHash is the SHA-256 of the agent's long-lived credential; "" for a host
	// without an agent or whose credential was revoked.
	CredentialHash string
	Driver         string // the agent's --driver: sim or qemu
	Accelerator    string // kvm or tcg (qemu)
	GPUs           map[string][]string
	Version        string // the agent's build
	LastSeen       *time.Time
	// Unreachable is set when the agent missed its heartbeats for the host timeout, and
	// cleared by its next heartbeat: the host then takes no placements and its machines
	// keep their last known state.
	Unreachable bool
	// VMs are the machines the agent last reported as running, and VMsAt when.
	VMs   []string
	VMsAt *time.Time
}

// Remote reports whether h is run by a `hangar agent`.
func (h *Host) Remote() bool { return h.Agent.Driver != "" }

// HostState is how the host listing summarises a host.
type HostState string

// Host states.
const (
	HostUp          HostState = "up"          // takes placements
	HostDraining    HostState = "draining"    // keeps its machines, takes no new ones
	HostUnavailable HostState = "unavailable" // its agent is unreachable
)

// State returns h's state: unavailable wins over draining.
func (h *Host) State() HostState {
	switch {
	case h.Agent.Unreachable:
		return HostUnavailable
	case !h.Available:
		return HostDraining
	}
	return HostUp
}

// JoinToken is a one-time, expiring token with which `hangar agent` registers a host in
// Region. Only its hash is stored.
type JoinToken struct {
	ID      string
	Hash    string
	Region  string
	Expires time.Time
	Created time.Time
	Used    *time.Time
	HostID  string // the host that used it
}

// Agent operation kinds: what a remote host's agent is asked to do with its local driver.
const (
	OpAdvance        = "advance"        // complete a machine's transitional state
	OpDestroy        = "destroy"        // remove everything the driver holds for a machine
	OpSnapshot       = "snapshot"       // record the machine's disk under a snapshot id
	OpRevert         = "revert"         // return the machine's disk to a snapshot
	OpDeleteSnapshot = "deleteSnapshot" // forget a snapshot
)

// AgentOp is one operation handed to a host's agent. Its ID is derived from what it does
// (machine, kind, state and the time the state was entered, or the snapshot id), so that
// every engine step that needs the same work finds the same row instead of making another.
// Request and Result are the wire documents (api.AgentOp, api.AgentResult).
type AgentOp struct {
	ID        string
	HostID    string
	MachineID string
	Kind      string
	Request   []byte
	Result    []byte // nil until the agent reports the outcome
	Created   time.Time
	Finished  *time.Time
}

// AgentOpKey names an unfinished agent operation and its host.
type AgentOpKey struct{ HostID, ID string }

// HostLoad is a host with its current usage per machine type.
type HostLoad struct {
	Host
	Used map[string]int
}

// Free returns the free slots of machineType on h.
func (h *HostLoad) Free(machineType string) int {
	if h.State() != HostUp {
		return 0
	}
	return h.Capacity[machineType] - h.Used[machineType]
}

// PublicIP is an address of the public pool. TeamID is set while the address is reserved to
// a team (a static IP stays reserved after its machine is destroyed unless released).
type PublicIP struct {
	Address   string
	TeamID    *string
	MachineID *string
	Dynamic   bool
}

// Idempotency records the first result of a create sent with an Idempotency-Key.
type Idempotency struct {
	UserID      string
	Key         string
	RequestHash string
	MachineID   string
	Response    []byte
	Created     time.Time
}
