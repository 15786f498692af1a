package core

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// ID prefixes and lengths (spec §1.5 REC).
const (
	PrefixMachine    = "ps"
	PrefixUser       = "u"
	PrefixTeam       = "te"
	PrefixTemplate   = "t"
	PrefixScript     = "sc"
	PrefixNetwork    = "n"
	PrefixHost       = "h"
	PrefixKey        = "k"
	PrefixLoginToken = "lt"
	PrefixSSHKey     = "sk"
)

// NewID returns prefix followed by n random characters from [a-z0-9].
func NewID(prefix string, n int) string {
	b := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(b) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		for _, c := range buf {
			if c < 252 && len(b) < n { // 252 = 7*36: rejection sampling keeps it uniform
				b = append(b, idAlphabet[c%36])
			}
		}
	}
	return prefix + string(b)
}

// NewUUID returns a random (version 4) UUID string.
func NewUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewSecret returns n random bytes as lowercase hex (API keys and access tokens).
func NewSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
