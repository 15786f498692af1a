package sqlstore

import (
	"strconv"

	"hangar/internal/core"
)

const networkCols = `num, id, name, team_id, region, cidr, vlan, managed, created`

func scanNetwork(s Row) (core.Network, error) {
	var n core.Network
	err := s.Scan(&n.Num, &n.ID, &n.Name, &n.TeamID, &n.Region, &n.CIDR, &n.VLAN, &n.Managed,
		timeCol{&n.Created})
	return n, err
}

// CreateNetwork implements store.Tx.
func (t *Tx) CreateNetwork(n *core.Network) error {
	return t.insertReturning("network", n.ID,
		`INSERT INTO networks (id, name, team_id, region, cidr, vlan, managed, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING num`,
		[]any{n.ID, n.Name, n.TeamID, n.Region, n.CIDR, n.VLAN, n.Managed, ms(n.Created)}, &n.Num)
}

// GetNetwork implements store.Tx.
func (t *Tx) GetNetwork(id string) (core.Network, error) {
	n, err := scanNetwork(t.x.QueryRow(`SELECT `+networkCols+` FROM networks
		WHERE id = $1 AND deleted_at IS NULL`, id))
	return n, t.Err(err, "network", id)
}

// GetNetworkByNum implements store.Tx.
func (t *Tx) GetNetworkByNum(num int64) (core.Network, error) {
	n, err := scanNetwork(t.x.QueryRow(`SELECT `+networkCols+` FROM networks
		WHERE num = $1 AND deleted_at IS NULL`, num))
	return n, t.Err(err, "network", strconv.FormatInt(num, 10))
}

// ListNetworks implements store.Tx.
func (t *Tx) ListNetworks(teamID string) ([]core.Network, error) {
	if teamID == "" {
		return list(t, "networks", scanNetwork, `SELECT `+networkCols+` FROM networks
			WHERE deleted_at IS NULL ORDER BY num`)
	}
	return list(t, "networks", scanNetwork, `SELECT `+networkCols+` FROM networks
		WHERE team_id = $1 AND deleted_at IS NULL ORDER BY num`, teamID)
}

// DeleteNetwork soft-deletes: the row stays (its id and number are never reused) with
// deleted_at set from the store's clock.
func (t *Tx) DeleteNetwork(id string) error {
	return t.execOne("network", id, `UPDATE networks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`,
		id, ms(t.clock.Now()))
}

// CountNetworkMachines implements store.Tx.
func (t *Tx) CountNetworkMachines(networkID string) (int, error) {
	var n int
	err := t.x.QueryRow(`SELECT COUNT(*) FROM machines WHERE network_id = $1 AND deleted_at IS NULL`, networkID).Scan(&n)
	return n, t.Err(err, "network machines", networkID)
}
