package core

import "time"

// FieldKind is the JSON type of a filterable machine field.
type FieldKind int

// Field kinds.
const (
	KindString FieldKind = iota
	KindInt
	KindBool
	KindTime
	KindDigits // an int64 rendered as a digit string (ram, storageTotal, storageUsed)
)

// MachineFields maps every filterable machine field (its API name) to its kind. Store
// adapters map the same names to their columns.
var MachineFields = map[string]FieldKind{
	"id": KindString, "name": KindString, "os": KindString, "ram": KindDigits, "cpus": KindInt,
	"gpu": KindString, "storageTotal": KindDigits, "storageUsed": KindDigits, "usageRate": KindString,
	"shutdownTimeoutInHours": KindInt, "shutdownTimeoutForces": KindBool,
	"performAutoSnapshot": KindBool, "autoSnapshotFrequency": KindString,
	"autoSnapshotSaveCount": KindInt, "agentType": KindString, "dtCreated": KindTime,
	"state": KindString, "updatesPending": KindBool, "networkId": KindString,
	"privateIpAddress": KindString, "publicIpAddress": KindString, "region": KindString,
	"userId": KindString, "teamId": KindString, "scriptId": KindString, "dtLastRun": KindTime,
	"machineType": KindString, "dynamicPublicIp": KindBool, "isManaged": KindBool,
	"restorePointSnapshotId": KindString, "restorePointFrequency": KindString,
}

// FilterValue is a typed filter operand; Null matches JSON null.
type FilterValue struct {
	Null bool
	Str  string
	Int  int64
	Bool bool
	Time time.Time
}

// Filter is an exact-match condition on one field.
type Filter struct {
	Field string // a key of MachineFields
	Value FilterValue
}

// Order sorts by one field.
type Order struct {
	Field string // a key of MachineFields
	Desc  bool
}

// MachineQuery selects live (not destroyed) machines of one team.
type MachineQuery struct {
	TeamID    string // required
	VisibleTo string // if set, only machines owned by or shared with this user
	Where     []Filter
	Order     []Order // default: dtCreated, then id
	Limit     int     // 0: no limit
	Skip      int
	// NameContains, if set, keeps the machines whose name contains it, ASCII letters matched
	// without regard to case (other characters exactly, so that every backend agrees).
	NameContains string
}
