package postgres

import (
	"strconv"

	"hangar/internal/core"
)

const networkCols = `num, id, name, team_id, region, cidr, vlan, managed, created`

func scanNetwork(s scanner) (core.Network, error) {
	var n core.Network
	err := s.Scan(&n.Num, &n.ID, &n.Name, &n.TeamID, &n.Region, &n.CIDR, &n.VLAN, &n.Managed,
		timeCol{&n.Created})
	return n, err
}

func (t *tx) CreateNetwork(n *core.Network) error {
	return t.insertReturning("network", n.ID, "",
		`INSERT INTO networks (id, name, team_id, region, cidr, vlan, managed, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING num`,
		[]any{n.ID, n.Name, n.TeamID, n.Region, n.CIDR, n.VLAN, n.Managed, ms(n.Created)}, &n.Num)
}

func (t *tx) GetNetwork(id string) (core.Network, error) {
	n, err := scanNetwork(t.queryRow(`SELECT `+networkCols+` FROM networks
		WHERE id = $1 AND deleted_at IS NULL`, id))
	return n, t.dbErr(err, "network", id)
}

func (t *tx) GetNetworkByNum(num int64) (core.Network, error) {
	n, err := scanNetwork(t.queryRow(`SELECT `+networkCols+` FROM networks
		WHERE num = $1 AND deleted_at IS NULL`, num))
	return n, t.dbErr(err, "network", strconv.FormatInt(num, 10))
}

func (t *tx) ListNetworks(teamID string) ([]core.Network, error) {
	if teamID == "" {
		return list(t, "networks", scanNetwork, `SELECT `+networkCols+` FROM networks
			WHERE deleted_at IS NULL ORDER BY num`)
	}
	return list(t, "networks", scanNetwork, `SELECT `+networkCols+` FROM networks
		WHERE team_id = $1 AND deleted_at IS NULL ORDER BY num`, teamID)
}

// DeleteNetwork soft-deletes: the row stays (its id and number are never reused) with
// deleted_at set from the store's clock.
func (t *tx) DeleteNetwork(id string) error {
	return t.execOne("network", id, `UPDATE networks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`,
		id, ms(t.clock.Now()))
}

func (t *tx) CountNetworkMachines(networkID string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM machines WHERE network_id = $1 AND deleted_at IS NULL`, networkID).Scan(&n)
	return n, t.dbErr(err, "network machines", networkID)
}
