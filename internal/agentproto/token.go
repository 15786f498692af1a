package agentproto

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
)

// A join token reads "hj<id>.<secret>" or, when the control plane serves TLS with its own
// certificate, "hj<id>.<secret>.<pin>" where pin is the hex SHA-256 of the certificate's
// public key (its DER SubjectPublicKeyInfo), as `kubeadm join` carries the CA's hash. Only
// the SHA-256 of "hj<id>.<secret>" is stored.

// JoinToken is a parsed join token.
type JoinToken struct {
	Secret string // hj<id>.<secret>: what the control plane checks
	Pin    string // "" or 64 hex digits
}

// ParseJoinToken splits a join token into its secret and its pin.
func ParseJoinToken(s string) (JoinToken, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 3 || !strings.HasPrefix(parts[0], "hj") || parts[1] == "" {
		return JoinToken{}, errors.New("malformed join token: expected hj<id>.<secret>[.<pin>] as printed by hangar admin hosts tokens create")
	}
	t := JoinToken{Secret: parts[0] + "." + parts[1]}
	if len(parts) == 3 {
		if _, err := hex.DecodeString(parts[2]); err != nil || len(parts[2]) != 64 {
			return JoinToken{}, errors.New("malformed join token: its certificate pin is not 64 hex digits")
		}
		t.Pin = strings.ToLower(parts[2])
	}
	return t, nil
}

// String is the token as printed.
func (t JoinToken) String() string {
	if t.Pin == "" {
		return t.Secret
	}
	return t.Secret + "." + t.Pin
}

// Pin returns the pin of a certificate: the hex SHA-256 of its public key.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}
