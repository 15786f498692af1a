// Package api holds the wire types of the Paperspace Core API as Hangar serves it (spec §2)
// and of the Hangar operator API. It uses only the standard library so that clients can
// import it without the server.
package api

// ErrorBody is the one error shape of every endpoint (spec §1.6):
// {"error":{"name":"Error","message":"…","status":400}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner object of ErrorBody; Status equals the HTTP status.
type ErrorDetail struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// Machine is the machine object (spec §2.1). Nullable fields are pointers and render as
// null; ram and the storage sizes are digit strings.
type Machine struct {
	ID                     string  `json:"id"`
	Name                   string  `json:"name"`
	OS                     *string `json:"os"`
	RAM                    *string `json:"ram"`
	CPUs                   int     `json:"cpus"`
	GPU                    *string `json:"gpu"`
	StorageTotal           *string `json:"storageTotal"`
	StorageUsed            *string `json:"storageUsed"`
	MachineType            string  `json:"machineType"`
	UsageRate              string  `json:"usageRate"`
	ShutdownTimeoutInHours *int    `json:"shutdownTimeoutInHours"`
	ShutdownTimeoutForces  bool    `json:"shutdownTimeoutForces"`
	PerformAutoSnapshot    bool    `json:"performAutoSnapshot"`
	AutoSnapshotFrequency  *string `json:"autoSnapshotFrequency"`
	AutoSnapshotSaveCount  *int    `json:"autoSnapshotSaveCount"`
	DynamicPublicIP        bool    `json:"dynamicPublicIp"`
	AgentType              string  `json:"agentType"`
	DtCreated              string  `json:"dtCreated"`
	State                  string  `json:"state"`
	UpdatesPending         bool    `json:"updatesPending"`
	NetworkID              *string `json:"networkId"`
	PrivateIPAddress       *string `json:"privateIpAddress"`
	PublicIPAddress        *string `json:"publicIpAddress"`
	Region                 string  `json:"region"`
	UserID                 string  `json:"userId"`
	TeamID                 string  `json:"teamId"`
	ScriptID               *string `json:"scriptId"`
	DtLastRun              *string `json:"dtLastRun"`
	RestorePointSnapshotID *string `json:"restorePointSnapshotId"`
	RestorePointFrequency  *string `json:"restorePointFrequency"`
	IsManaged              bool    `json:"isManaged"`
	DtDeleted              *string `json:"dtDeleted"`
	InternalID             int64   `json:"internalId"`
}

// MachineWithEvents is the show/waitfor response: the machine and its last ten events.
type MachineWithEvents struct {
	Machine
	Events []Event `json:"events"`
}

// Event is a machine event (spec §2.1).
type Event struct {
	Name       string  `json:"name"`
	State      string  `json:"state"`
	ErrorMsg   string  `json:"errorMsg"`
	Handle     string  `json:"handle"`
	DtModified string  `json:"dtModified"`
	DtFinished *string `json:"dtFinished"`
	DtCreated  string  `json:"dtCreated"`
}

// Availability is the getAvailability response.
type Availability struct {
	Available bool `json:"available"`
}

// PaperspaceUser is a user object (spec §4.6).
type PaperspaceUser struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	DtCreated string `json:"dtCreated"`
	TeamID    string `json:"teamId"`
}

// PaperspaceTemplate is a template object (spec §4.4); public templates omit teamId, userId and region.
type PaperspaceTemplate struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Label     *string `json:"label"`
	OS        string  `json:"os"`
	DtCreated string  `json:"dtCreated"`
	TeamID    *string `json:"teamId,omitempty"`
	UserID    *string `json:"userId,omitempty"`
	Region    *string `json:"region,omitempty"`
}

// PaperspaceTeamTemplate is a team template, which always carries teamId, userId (possibly null) and
// region (possibly null).
type PaperspaceTeamTemplate struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Label     *string `json:"label"`
	OS        string  `json:"os"`
	TeamID    string  `json:"teamId"`
	UserID    *string `json:"userId"`
	Region    *string `json:"region"`
	DtCreated string  `json:"dtCreated"`
}

// PaperspaceNetwork is the /networks/getNetworks object (spec §2.17).
type PaperspaceNetwork struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Region    string `json:"region"`
	DtCreated string `json:"dtCreated"`
	Network   string `json:"network"`
	Netmask   string `json:"netmask"`
	TeamID    string `json:"teamId"`
}

// Script is a script object (spec §4.7).
type Script struct {
	ID          string  `json:"id"`
	OwnerType   string  `json:"ownerType"`
	OwnerID     string  `json:"ownerId"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	DtCreated   string  `json:"dtCreated"`
	IsEnabled   bool    `json:"isEnabled"`
	RunOnce     bool    `json:"runOnce"`
}

// ScriptWithMachines is the getScript response.
type ScriptWithMachines struct {
	Script
	Machines []ScriptMachine `json:"machines"`
}

// ScriptMachine is one machine a script is assigned to.
type ScriptMachine struct {
	MachineID string  `json:"machineId"`
	DtLastRun *string `json:"dtLastRun"`
}

// AccessToken is the /users/login response (LoopBack style); ID is the access token.
type AccessToken struct {
	ID      string `json:"id"`
	TTL     int64  `json:"ttl"`
	Created string `json:"created"`
	UserID  string `json:"userId"`
}

// APIToken is the /apiTokens/createPublic response.
type APIToken struct {
	Key       string `json:"key"`
	Name      string `json:"name"`
	DtCreated string `json:"dtCreated"`
}

// Utilization is the getUtilization response (spec §2.13).
type Utilization struct {
	MachineID          string             `json:"machineId"`
	Utilization        MachineUtilization `json:"utilization"`
	StorageUtilization StorageUtilization `json:"storageUtilization"`
}

// MachineUtilization is the time a machine spent in billable states in a billing month.
// HourlyRate is a two-decimal string, null where no rate applies or none is configured.
type MachineUtilization struct {
	MachineID    string  `json:"machineId"`
	SecondsUsed  float64 `json:"secondsUsed"`
	HourlyRate   *string `json:"hourlyRate"`
	BillingMonth string  `json:"billingMonth"`
}

// StorageUtilization is the time a machine's storage existed in a billing month. MonthlyRate
// is the two-decimal monthly rate of its size, null where none is configured.
type StorageUtilization struct {
	MachineID    string  `json:"machineId"`
	SecondsUsed  float64 `json:"secondsUsed"`
	MonthlyRate  *string `json:"monthlyRate"`
	BillingMonth string  `json:"billingMonth"`
}

// TeamNetwork is a network as terraform reads it: the createPrivateNetwork response and the
// inner object of getNetworks items (spec §2.25). ID is the numeric id.
type TeamNetwork struct {
	ID      int64  `json:"id"`
	Handle  string `json:"handle"`
	IsTaken bool   `json:"isTaken"`
	Network string `json:"network"`
	Netmask string `json:"netmask"`
	VLANID  int    `json:"vlanId"`
}

// NamedTeamNetwork is one item of GET /teams/:teamId/getNetworks.
type NamedTeamNetwork struct {
	Name    string      `json:"name"`
	Network TeamNetwork `json:"network"`
}

// GoNetwork is the /networks object of paperspace-go (spec §2.26). ID is the numeric id as a
// decimal string; DtDeleted is always null (deleted networks are not listed).
type GoNetwork struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Network   string  `json:"network"`
	Netmask   string  `json:"netmask"`
	TeamID    string  `json:"teamId"`
	IsManaged bool    `json:"isManaged"`
	DtCreated string  `json:"dtCreated"`
	DtDeleted *string `json:"dtDeleted"`
}
