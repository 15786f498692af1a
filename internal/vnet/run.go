package vnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// run executes a host tool and returns its stdout; a failure carries the command and its
// stderr.
func run(ctx context.Context, stdin string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("vnet: %s %s: %w: %s", name, strings.Join(args, " "), err,
			strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// ipIn runs `ip -n ns args...`; an empty ns means the caller's own namespace.
func ipIn(ctx context.Context, ns string, args ...string) ([]byte, error) {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	return run(ctx, "", "ip", args...)
}

// nft feeds script to nft inside ns as one atomic transaction.
func nft(ctx context.Context, ns, script string) error {
	_, err := run(ctx, script, "ip", "netns", "exec", ns, "nft", "-f", "-")
	return err
}

// sysctl writes value to the /proc/sys file key ("net/ipv4/ip_forward") inside ns.
func sysctl(ctx context.Context, ns, key, value string) error {
	_, err := run(ctx, value+"\n", "ip", "netns", "exec", ns, "tee", "/proc/sys/"+key)
	return err
}

// link is the part of `ip -j -d link` output the fabric reads.
type link struct {
	Index    int      `json:"ifindex"`
	Name     string   `json:"ifname"`
	Alias    string   `json:"ifalias"`
	Master   string   `json:"master"`
	Flags    []string `json:"flags"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	AddrInfo []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

// links lists the links of ns with their addresses.
func links(ctx context.Context, ns string) ([]link, error) {
	out, err := ipIn(ctx, ns, "-j", "-d", "addr", "show")
	if err != nil {
		return nil, err
	}
	var ls []link
	if err := json.Unmarshal(out, &ls); err != nil {
		return nil, fmt.Errorf("vnet: parse ip addr of %s: %w", ns, err)
	}
	return ls, nil
}

// findLink returns the link called name in ls.
func findLink(ls []link, name string) (link, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l, true
		}
	}
	return link{}, false
}

// delLink deletes link name in ns; a link that is already gone (a veth whose peer's
// namespace was just deleted, for one) is not an error.
func delLink(ctx context.Context, ns, name string) error {
	_, err := ipIn(ctx, ns, "link", "del", name)
	if err != nil && strings.Contains(err.Error(), "Cannot find device") {
		return nil
	}
	return err
}
