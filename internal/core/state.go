package core

// State is a machine's public state (spec §3.1).
type State string

// The eight machine states, spelled as the Paperspace API spells them.
const (
	StateProvisioning State = "provisioning"
	StateStarting     State = "starting"
	StateServiceReady State = "serviceready"
	StateReady        State = "ready"
	StateStopping     State = "stopping"
	StateOff          State = "off"
	StateRestarting   State = "restarting"
	StateUpgrading    State = "upgrading"
)

// States lists every state.
func States() []State {
	return []State{StateProvisioning, StateStarting, StateServiceReady, StateReady,
		StateStopping, StateOff, StateRestarting, StateUpgrading}
}

// Valid reports whether s is one of the eight states.
func (s State) Valid() bool {
	for _, v := range States() {
		if s == v {
			return true
		}
	}
	return false
}

// PoweredOn reports whether a machine in state s holds host capacity and bills by the hour
// (every state but off, spec §3.2).
func (s State) PoweredOn() bool { return s != StateOff }

// Action is a power call a user makes on a machine.
type Action string

// The user actions of spec §3.2.
const (
	ActionStart   Action = "start"
	ActionStop    Action = "stop"
	ActionRestart Action = "restart"
)

// Outcome says what an action does to a machine in a given state.
type Outcome int

// Outcomes of NextState.
const (
	OutcomeReject Outcome = iota // 400: illegal transition
	OutcomeNoop                  // 204, nothing changes
	OutcomeMove                  // 204, the machine moves to the returned state
)

// NextState is the transition table of spec §3.2 for user actions: it returns what
// action does to a machine in state from and, for OutcomeMove, the new state.
func NextState(from State, action Action) (State, Outcome) {
	switch action {
	case ActionStart:
		switch from {
		case StateStarting, StateServiceReady, StateReady, StateRestarting:
			return from, OutcomeNoop
		case StateOff:
			return StateStarting, OutcomeMove
		}
	case ActionStop:
		switch from {
		case StateOff, StateStopping:
			return from, OutcomeNoop
		case StateReady, StateServiceReady, StateStarting, StateRestarting:
			return StateStopping, OutcomeMove
		}
	case ActionRestart:
		switch from {
		case StateReady, StateServiceReady, StateRestarting:
			return StateRestarting, OutcomeMove
		}
	}
	return from, OutcomeReject
}

// EventState is the state of a machine event.
type EventState string

// Event states (spec §2.1, §6 #22).
const (
	EventInProgress EventState = "in progress"
	EventDone       EventState = "done"
	EventError      EventState = "error"
	EventCancelled  EventState = "cancelled"
)

// Event names used by Hangar (spec §3.3).
const (
	EventCreate     = "create"
	EventStart      = "start"
	EventStop       = "stop"
	EventRestart    = "restart"
	EventDeactivate = "deactivate"
)

// Billable reports whether a machine in state s accrues machine (hourly) time: every valid
// state but off (spec §3.2). The zero State, before a machine's first state, is not billable.
func (s State) Billable() bool { return s.Valid() && s != StateOff }
