package api

// This file holds the wire types of the Hangar operator API (/hangar/v1/…), the API behind
// `hangar admin`. Dates are strings in the Paperspace format "2006-01-02T15:04:05.000Z".

// OperatorPrefix is the path prefix of every operator API route.
const OperatorPrefix = "/hangar/v1"

// Team is an account as the operator API shows it.
type Team struct {
	ID         string `json:"id"`
	Num        int64  `json:"num"`
	Name       string `json:"name"`
	Individual bool   `json:"individual"`
	DtCreated  string `json:"dtCreated"`
}

// CreateTeamRequest is the body of POST /hangar/v1/teams.
type CreateTeamRequest struct {
	Name       string `json:"name"`
	Individual bool   `json:"individual"`
}

// TeamDetail is a team with its quotas (GET and POST /hangar/v1/teams/{id}).
type TeamDetail struct {
	Team
	Quotas []TeamQuota `json:"quotas"`
}

// TeamQuota is one quota of a team. Name is machines, running, networks, publicIps, scripts or
// snapshots; Limit is a count, or -1 for no limit; Source is "default" (the server's
// --quota) or "team" (the team's override); Used is what the team holds now.
type TeamQuota struct {
	Name   string `json:"name"`
	Limit  int    `json:"limit"`
	Source string `json:"source"`
	Used   int    `json:"used"`
}

// UpdateTeamRequest is the body of POST /hangar/v1/teams/{id}: quota overrides by name, a
// count or -1 for no limit; null returns a quota to the default. Quotas not named keep what
// they have.
type UpdateTeamRequest struct {
	Quotas map[string]*int `json:"quotas"`
}

// PublicIP is a public address reserved to a team: a static one attached to a machine
// (MachineID) or kept after its machine was destroyed (MachineID null), or a dynamic one
// attached to a running machine.
type PublicIP struct {
	Address   string  `json:"address"`
	TeamID    string  `json:"teamId"`
	MachineID *string `json:"machineId"`
	Dynamic   bool    `json:"dynamic"`
}

// User is a person in a team. Role is "admin", "member" or "operator".
type User struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	TeamID    string `json:"teamId"`
	Role      string `json:"role"`
	Disabled  bool   `json:"disabled"`
	DtCreated string `json:"dtCreated"`
}

// UpdateUserRequest is the body of POST /hangar/v1/users/{id} ({id} a user handle or email);
// absent fields stay as they are. Disabled true ends the user's login tokens and console
// sessions and refuses their API keys until Disabled is false again; a Password ends the
// user's login tokens and console sessions.
type UpdateUserRequest struct {
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
}

// CreateUserRequest is the body of POST /hangar/v1/users. Team is a team handle or numeric id;
// Admin makes the user an admin of the team instead of a member.
type CreateUserRequest struct {
	Team      string `json:"team"`
	Email     string `json:"email"`
	Password  string `json:"password"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Admin     bool   `json:"admin"`
}

// APIKey is a stored credential: an API key, or a users/login token. Kind says which: "key"
// (made by hangar admin keys create), "apiToken" (POST /apiTokens/createPublic, the node
// CLI's login), "session" (a web console sign-in) or "login" (a users/login access token,
// which has Expires and no Prefix). Key, the secret, is set only in the response that
// creates it.
type APIKey struct {
	ID        string  `json:"id"`
	UserID    string  `json:"userId"`
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Prefix    string  `json:"prefix"`
	DtCreated string  `json:"dtCreated"`
	LastUsed  *string `json:"lastUsed"`
	Revoked   *string `json:"revoked"`
	Expires   *string `json:"expires,omitempty"`
	Key       string  `json:"key,omitempty"`
}

// CreateKeyRequest is the body of POST /hangar/v1/keys. User is a user handle; an empty Name
// lets the server choose one.
type CreateKeyRequest struct {
	User string `json:"user"`
	Name string `json:"name,omitempty"`
}

// Template is a machine image. TeamID is nil for public templates; Image, Kernel and Initrd
// are paths on the server host (qemu driver).
type Template struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Label     *string `json:"label"`
	OS        string  `json:"os"`
	OSFamily  string  `json:"osFamily"`
	AgentType string  `json:"agentType"`
	TeamID    *string `json:"teamId"`
	Region    *string `json:"region"`
	Image     string  `json:"image"`
	Kernel    string  `json:"kernel"`
	Initrd    string  `json:"initrd"`
	DtCreated string  `json:"dtCreated"`
}

// CreateTemplateRequest is the body of POST /hangar/v1/templates. Empty optional fields are
// omitted; an empty Team makes a public template. Image excludes Kernel and Initrd, which go
// together; all three are absolute paths on the server host.
type CreateTemplateRequest struct {
	Name      string `json:"name"`
	OS        string `json:"os"`
	AgentType string `json:"agentType,omitempty"`
	Region    string `json:"region,omitempty"`
	Team      string `json:"team,omitempty"`
	Label     string `json:"label,omitempty"`
	Image     string `json:"image,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	Initrd    string `json:"initrd,omitempty"`
}

// Network is a team's private network.
type Network struct {
	ID        string `json:"id"`
	Num       int64  `json:"num"`
	Name      string `json:"name"`
	TeamID    string `json:"teamId"`
	Region    string `json:"region"`
	CIDR      string `json:"cidr"`
	Network   string `json:"network"`
	Netmask   string `json:"netmask"`
	VLANID    int    `json:"vlanId"`
	DtCreated string `json:"dtCreated"`
}

// CreateNetworkRequest is the body of POST /hangar/v1/networks. Team is a team handle or
// numeric id; CIDR is e.g. "10.64.21.0/24".
type CreateNetworkRequest struct {
	Team   string `json:"team"`
	Name   string `json:"name"`
	Region string `json:"region"`
	CIDR   string `json:"cidr"`
}

// Host is a hypervisor host with its capacity and current usage per machine type.
type Host struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Region    string         `json:"region"`
	Available bool           `json:"available"`
	Capacity  map[string]int `json:"capacity"`
	Used      map[string]int `json:"used"`
	DtCreated string         `json:"dtCreated"`
	// State is up, draining (takes no new machines) or unavailable (its agent missed its
	// heartbeats for the host timeout).
	State string `json:"state"`
	// Driver is the hypervisor driver that runs the host's machines: sim, qemu, or the
	// driver of the host's `hangar agent`.
	Driver string `json:"driver"`
	// Agent is set on hosts run by `hangar agent`.
	Agent *HostAgent `json:"agent,omitempty"`
	// Hypervisor is set on the host this server runs real machines on (--driver qemu) and on
	// agent hosts.
	Hypervisor *HostHypervisor `json:"hypervisor,omitempty"`
}

// HostAgent is the agent of a remote host: its build and its last heartbeat.
type HostAgent struct {
	Version  string  `json:"version"`
	LastSeen *string `json:"lastSeen"`
}

// HostHypervisor describes how a host runs machines.
type HostHypervisor struct {
	Driver string `json:"driver"`
	// Accelerator is "kvm" or "tcg" (software emulation, when KVM failed its probe boot).
	Accelerator string `json:"accelerator"`
	// GPUs is the host's GPU inventory: model to PCI addresses passed through with VFIO.
	GPUs map[string][]string `json:"gpus,omitempty"`
}

// CreateHostRequest is the body of POST /hangar/v1/hosts. A nil Available means available.
type CreateHostRequest struct {
	Name      string         `json:"name"`
	Region    string         `json:"region"`
	Capacity  map[string]int `json:"capacity"`
	Available *bool          `json:"available,omitempty"`
}

// UpdateHostRequest is the body of POST /hangar/v1/hosts/{id}. Nil fields are left unchanged;
// a non-nil Capacity replaces the whole capacity map.
type UpdateHostRequest struct {
	Name      *string        `json:"name,omitempty"`
	Capacity  map[string]int `json:"capacity,omitempty"`
	Available *bool          `json:"available,omitempty"`
}

// Fault is a pending injected failure of the sim driver: the next Remaining operations of
// kind Action fail with Message.
type Fault struct {
	Action    string `json:"action"`
	Remaining int    `json:"remaining"`
	Message   string `json:"message"`
}

// AddFaultRequest is the body of POST /hangar/v1/sim/faults. Action is "create", "start",
// "stop" or "restart"; the next Count such operations fail.
type AddFaultRequest struct {
	Action  string `json:"action"`
	Count   int    `json:"count"`
	Message string `json:"message,omitempty"`
}

// UsageReport is the answer of GET /hangar/v1/usage?month=YYYY-MM: the month's usage of every
// machine, live or destroyed, totalled per team and machine type.
type UsageReport struct {
	Month string     `json:"month"`
	Rows  []UsageRow `json:"rows"`
}

// UsageRow is the usage of one team's machines of one type. SecondsUsed is time in billable
// states, StorageSecondsUsed time the machines existed; Cost is a two-decimal string, null when
// a rate it needs is not configured.
type UsageRow struct {
	TeamID             string  `json:"teamId"`
	TeamName           string  `json:"teamName"`
	MachineType        string  `json:"machineType"`
	Machines           int     `json:"machines"`
	SecondsUsed        float64 `json:"secondsUsed"`
	StorageSecondsUsed float64 `json:"storageSecondsUsed"`
	Cost               *string `json:"cost"`
}

// AuditEntry is one entry of the audit log (GET /hangar/v1/audit): a state-changing call, who
// made it (UserID, Role and TeamID are "" for an anonymous caller), what it acted on and how it
// ended (Status, and Error, the error code, on failure). It never holds a secret.
type AuditEntry struct {
	Seq        int64  `json:"seq"`
	DtCreated  string `json:"dtCreated"`
	RequestID  string `json:"requestId"`
	UserID     string `json:"userId"`
	Role       string `json:"role"`
	TeamID     string `json:"teamId"`
	Action     string `json:"action"`
	Target     string `json:"target"`
	Status     int    `json:"status"`
	Error      string `json:"error"`
	ClientAddr string `json:"clientAddr"`
}

// AuditQuery holds the query parameters of GET /hangar/v1/audit; empty fields do not filter.
// Team is a handle or numeric id; Since (inclusive) and Until (exclusive) are RFC 3339 dates;
// Limit defaults to 100 and may be at most 10000. Entries come newest first.
type AuditQuery struct {
	Team   string
	User   string
	Action string
	Since  string
	Until  string
	Limit  int
}

// SSHKey is an SSH public key of a user (GET/POST /hangar/v1/users/:id/sshKeys): machines
// assigned to the user authorize it for their login user "paperspace" from their next boot.
type SSHKey struct {
	ID          string `json:"id"`
	UserID      string `json:"userId"`
	PublicKey   string `json:"publicKey"`
	Fingerprint string `json:"fingerprint"`
	DtCreated   string `json:"dtCreated"`
}

// AddSSHKeyRequest is the body of POST /hangar/v1/users/:id/sshKeys: one OpenSSH public key
// (the contents of a .pub file).
type AddSSHKeyRequest struct {
	PublicKey string `json:"publicKey"`
}
