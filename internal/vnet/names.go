package vnet

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Link name prefixes and aliases. Every link the fabric creates carries an alias
// "hangar:<kind>:<id>" so that a reopened fabric finds its objects in the kernel alone.
const (
	bridgePrefix = "hb" // bridge of a private network
	tapPrefix    = "ht" // tap of a VM
	vethPrefix   = "hv" // veth of an endpoint that lives in its own namespace
	outPrefix    = "hu" // the uplink's end in the outside namespace
	uplinkName   = "uplink"

	aliasNet = "hangar:net:"
	aliasVM  = "hangar:vm:"
)

// shortHash returns the first n hex digits of the SHA-256 of s.
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// linkName derives a deterministic interface name of 12 characters (the kernel allows 15).
func linkName(prefix, id string) string { return prefix + shortHash(id, 10) }

// aliasID returns the id in alias when it has the given kind prefix.
func aliasID(alias, kind string) (string, bool) {
	if !strings.HasPrefix(alias, kind) {
		return "", false
	}
	return strings.TrimPrefix(alias, kind), true
}
