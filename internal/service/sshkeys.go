package service

import (
	"context"
	"strings"

	"golang.org/x/crypto/ssh"

	"hangar/internal/core"
	"hangar/internal/store"
)

// maxSSHKeys is how many SSH keys one user may have.
const maxSSHKeys = 32

// ParseSSHKey checks that text is one OpenSSH public key (an authorized_keys line without
// options, as in a .pub file) and returns it normalised (type, base64 key, comment) with its
// SHA256 fingerprint.
func ParseSSHKey(text string) (line, fingerprint string, err error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", "", invalid("publicKey is required: an OpenSSH public key such as the contents of ~/.ssh/id_ed25519.pub")
	}
	if strings.ContainsAny(text, "\r\n") {
		return "", "", invalid("publicKey must be one public key on one line")
	}
	if len(text) > 16<<10 {
		return "", "", invalid("publicKey is longer than 16384 bytes")
	}
	pk, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(text))
	if err != nil {
		return "", "", invalid("publicKey is not an OpenSSH public key: %v", err)
	}
	if len(options) > 0 || len(rest) > 0 {
		return "", "", invalid("publicKey must be a bare public key, without authorized_keys options")
	}
	for _, r := range comment {
		if r < 0x20 || r == 0x7f {
			return "", "", invalid("publicKey's comment has control characters")
		}
	}
	line = strings.TrimSpace(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment)
	return line, ssh.FingerprintSHA256(pk), nil
}

// AddSSHKey adds an OpenSSH public key to a user (operator only). Machines assigned to the
// user authorize it for their login user from their next boot on.
func (s *Service) AddSSHKey(ctx context.Context, p core.Principal, userID, publicKey string) (core.SSHKey, error) {
	if err := requireOperator(p); err != nil {
		return core.SSHKey{}, err
	}
	userID = strings.TrimSpace(userID)
	line, fp, err := ParseSSHKey(publicKey)
	if err != nil {
		return core.SSHKey{}, err
	}
	k := core.SSHKey{ID: core.NewID(core.PrefixSSHKey, 8), UserID: userID, PublicKey: line, Fingerprint: fp, Created: s.clock.Now()}
	auditTarget(ctx, userID)
	err = s.write(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(userID); core.IsNotFound(err) {
			return core.Errorf(core.NotFound, "user %s not found", userID)
		} else if err != nil {
			return err
		}
		have, err := tx.ListSSHKeys(userID)
		if err != nil {
			return err
		}
		if len(have) >= maxSSHKeys {
			return invalid("user %s already has %d SSH keys, the most a user may have", userID, maxSSHKeys)
		}
		return tx.CreateSSHKey(&k)
	})
	return k, err
}

// ListSSHKeys returns a user's SSH keys, oldest first (operator only).
func (s *Service) ListSSHKeys(ctx context.Context, p core.Principal, userID string) ([]core.SSHKey, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	userID = strings.TrimSpace(userID)
	var out []core.SSHKey
	err := s.read(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(userID); core.IsNotFound(err) {
			return core.Errorf(core.NotFound, "user %s not found", userID)
		} else if err != nil {
			return err
		}
		var err error
		out, err = tx.ListSSHKeys(userID)
		return err
	})
	return out, err
}

// RemoveSSHKey removes one of a user's SSH keys (operator only); machines stop authorizing it
// from their next boot on.
func (s *Service) RemoveSSHKey(ctx context.Context, p core.Principal, userID, keyID string) error {
	if err := requireOperator(p); err != nil {
		return err
	}
	userID, keyID = strings.TrimSpace(userID), strings.TrimSpace(keyID)
	auditTarget(ctx, keyID)
	return s.write(ctx, func(tx store.Tx) error {
		err := tx.DeleteSSHKey(userID, keyID)
		if core.IsNotFound(err) {
			return core.Errorf(core.NotFound, "SSH key %s of user %s not found", keyID, userID)
		}
		return err
	})
}
