package sqlstore

import "hangar/internal/core"

// InsertPrivateIP implements store.Tx.
func (t *Tx) InsertPrivateIP(scope, addr, machineID string) error {
	return t.insert("private IP", addr, "",
		`INSERT INTO private_ips (scope, addr, machine_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		scope, addr, machineID)
}

// ListPrivateIPs returns the addresses of scope in text order.
func (t *Tx) ListPrivateIPs(scope string) ([]string, error) {
	return list(t, "private IPs", func(s Row) (string, error) {
		var a string
		err := s.Scan(&a)
		return a, err
	}, `SELECT addr FROM private_ips WHERE scope = $1 ORDER BY addr`, scope)
}

// DeletePrivateIPs implements store.Tx.
func (t *Tx) DeletePrivateIPs(machineID string) error {
	_, err := t.x.Exec(`DELETE FROM private_ips WHERE machine_id = $1`, machineID)
	return t.Err(err, "private IPs of machine", machineID)
}

const publicIPCols = `address, team_id, machine_id, dynamic`

func scanPublicIP(s Row) (core.PublicIP, error) {
	var ip core.PublicIP
	err := s.Scan(&ip.Address, &ip.TeamID, &ip.MachineID, &ip.Dynamic)
	return ip, err
}

// InsertPublicIP implements store.Tx.
func (t *Tx) InsertPublicIP(ip *core.PublicIP) error {
	return t.insert("public IP", ip.Address, "",
		`INSERT INTO public_ips (`+publicIPCols+`) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		ip.Address, ip.TeamID, ip.MachineID, ip.Dynamic)
}

// GetPublicIP implements store.Tx.
func (t *Tx) GetPublicIP(addr string) (core.PublicIP, error) {
	ip, err := scanPublicIP(t.x.QueryRow(`SELECT `+publicIPCols+` FROM public_ips WHERE address = $1`, addr))
	return ip, t.Err(err, "public IP", addr)
}

// UpdatePublicIP implements store.Tx.
func (t *Tx) UpdatePublicIP(ip *core.PublicIP) error {
	return t.execOne("public IP", ip.Address, `UPDATE public_ips SET team_id = $2, machine_id = $3, dynamic = $4
		WHERE address = $1`, ip.Address, ip.TeamID, ip.MachineID, ip.Dynamic)
}

// DeletePublicIP implements store.Tx.
func (t *Tx) DeletePublicIP(addr string) error {
	return t.execOne("public IP", addr, `DELETE FROM public_ips WHERE address = $1`, addr)
}

// ListPublicIPs orders by the address text.
func (t *Tx) ListPublicIPs(teamID string) ([]core.PublicIP, error) {
	if teamID == "" {
		return list(t, "public IPs", scanPublicIP, `SELECT `+publicIPCols+` FROM public_ips ORDER BY address`)
	}
	return list(t, "public IPs", scanPublicIP, `SELECT `+publicIPCols+` FROM public_ips
		WHERE team_id = $1 ORDER BY address`, teamID)
}
