package qemu

import (
	"context"
	"net/netip"
	"os"
	"strings"

	"hangar/internal/cidata"
)

// Hostname turns a machine name into a valid host name (RFC 1123 label), falling back to the
// machine id.
func Hostname(name, id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	h := strings.Trim(b.String(), "-")
	if len(h) > 63 {
		h = strings.Trim(h[:63], "-")
	}
	if h == "" {
		return id
	}
	return h
}

// withPrefix returns ip with the prefix length of cidr (invalid if either is bad).
func withPrefix(ip, cidr string) netip.Prefix {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, p.Bits())
}

// writeSeed writes the cidata ISO for s to path atomically: a running QEMU keeps reading the
// file it opened.
func writeSeed(ctx context.Context, path string, s cidata.Seed) error {
	tmp := path + ".tmp"
	if err := s.WriteISO(ctx, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
