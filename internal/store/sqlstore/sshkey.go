package sqlstore

import "hangar/internal/core"

const sshKeyCols = `id, user_id, public_key, fingerprint, created`

func scanSSHKey(s Row) (core.SSHKey, error) {
	var k core.SSHKey
	err := s.Scan(&k.ID, &k.UserID, &k.PublicKey, &k.Fingerprint, timeCol{&k.Created})
	return k, err
}

// CreateSSHKey is guarded: it can fail on the user's foreign key or the unique fingerprint.
func (t *Tx) CreateSSHKey(k *core.SSHKey) error {
	if _, err := t.GetUser(k.UserID); core.IsNotFound(err) {
		return core.Errorf(core.Invalid, "user %s not found", k.UserID)
	} else if err != nil {
		return err
	}
	_, err := t.x.ExecGuarded(`INSERT INTO ssh_keys (`+sshKeyCols+`) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.UserID, k.PublicKey, k.Fingerprint, ms(k.Created))
	return t.errConflict(err, "SSH key", k.ID, "the user already has the SSH key "+k.Fingerprint)
}

// ListSSHKeys implements store.Tx.
func (t *Tx) ListSSHKeys(userID string) ([]core.SSHKey, error) {
	return list(t, "SSH keys", scanSSHKey, `SELECT `+sshKeyCols+` FROM ssh_keys
		WHERE user_id = $1 ORDER BY created, id`, userID)
}

// DeleteSSHKey implements store.Tx.
func (t *Tx) DeleteSSHKey(userID, id string) error {
	return t.execOne("SSH key", id, `DELETE FROM ssh_keys WHERE id = $1 AND user_id = $2`, id, userID)
}
