package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"hangar/api"
)

// ListTeams returns every team.
func (c *Client) ListTeams(ctx context.Context) ([]api.Team, error) {
	return list[api.Team](ctx, c, "/teams", nil)
}

// CreateTeam creates a team.
func (c *Client) CreateTeam(ctx context.Context, req api.CreateTeamRequest) (*api.Team, error) {
	return post[api.Team](ctx, c, "/teams", req)
}

// GetTeam returns a team (a handle or numeric id) with its quotas.
func (c *Client) GetTeam(ctx context.Context, team string) (*api.TeamDetail, error) {
	var out api.TeamDetail
	if err := c.do(ctx, http.MethodGet, item("/teams", team), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTeam changes a team's quota overrides and returns the team with its quotas.
func (c *Client) UpdateTeam(ctx context.Context, team string, req api.UpdateTeamRequest) (*api.TeamDetail, error) {
	return post[api.TeamDetail](ctx, c, item("/teams", team), req)
}

// ListPublicIPs returns the public addresses reserved to team (a handle or numeric id), or to
// every team when team is empty (the operator; a team admin sees the own team's).
func (c *Client) ListPublicIPs(ctx context.Context, team string) ([]api.PublicIP, error) {
	return list[api.PublicIP](ctx, c, "/publicIps", filter("team", team))
}

// ReleasePublicIP returns a static address that no machine uses to the pool.
func (c *Client) ReleasePublicIP(ctx context.Context, address string) (*api.PublicIP, error) {
	return post[api.PublicIP](ctx, c, item("/publicIps", address)+"/release", nil)
}

// ListUsers returns the users of team (a handle or numeric id), or of every team when team is
// empty.
func (c *Client) ListUsers(ctx context.Context, team string) ([]api.User, error) {
	return list[api.User](ctx, c, "/users", filter("team", team))
}

// CreateUser creates a user in a team.
func (c *Client) CreateUser(ctx context.Context, req api.CreateUserRequest) (*api.User, error) {
	return post[api.User](ctx, c, "/users", req)
}

// UpdateUser disables or enables a user or sets their password; user is a handle or email.
func (c *Client) UpdateUser(ctx context.Context, user string, req api.UpdateUserRequest) (*api.User, error) {
	return post[api.User](ctx, c, item("/users", user), req)
}

// ListKeys returns the credentials (API keys of every kind and login tokens) of user (a
// handle), or of every user when user is empty.
// Secrets are never included.
func (c *Client) ListKeys(ctx context.Context, user string) ([]api.APIKey, error) {
	return list[api.APIKey](ctx, c, "/keys", filter("user", user))
}

// CreateKey creates an API key; the reply's Key holds the secret, shown only this once.
func (c *Client) CreateKey(ctx context.Context, req api.CreateKeyRequest) (*api.APIKey, error) {
	return post[api.APIKey](ctx, c, "/keys", req)
}

// RevokeKey revokes the API key or login token id and returns it.
func (c *Client) RevokeKey(ctx context.Context, id string) (*api.APIKey, error) {
	return post[api.APIKey](ctx, c, item("/keys", id)+"/revoke", nil)
}

// ListSSHKeys returns the SSH public keys of user (a handle).
func (c *Client) ListSSHKeys(ctx context.Context, user string) ([]api.SSHKey, error) {
	return list[api.SSHKey](ctx, c, item("/users", user)+"/sshKeys", nil)
}

// AddSSHKey adds an OpenSSH public key to user.
func (c *Client) AddSSHKey(ctx context.Context, user, publicKey string) (*api.SSHKey, error) {
	return post[api.SSHKey](ctx, c, item("/users", user)+"/sshKeys", api.AddSSHKeyRequest{PublicKey: publicKey})
}

// RemoveSSHKey removes the SSH key id of user.
func (c *Client) RemoveSSHKey(ctx context.Context, user, id string) error {
	return c.do(ctx, http.MethodDelete, item(item("/users", user)+"/sshKeys", id), nil, nil, nil)
}

// ListTemplates returns the templates of team plus the public ones, or every template when
// team is empty.
func (c *Client) ListTemplates(ctx context.Context, team string) ([]api.Template, error) {
	return list[api.Template](ctx, c, "/templates", filter("team", team))
}

// CreateTemplate creates a template.
func (c *Client) CreateTemplate(ctx context.Context, req api.CreateTemplateRequest) (*api.Template, error) {
	return post[api.Template](ctx, c, "/templates", req)
}

// DeleteTemplate deletes the template id.
func (c *Client) DeleteTemplate(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, item("/templates", id), nil, nil, nil)
}

// ListNetworks returns the private networks of team, or of every team when team is empty.
func (c *Client) ListNetworks(ctx context.Context, team string) ([]api.Network, error) {
	return list[api.Network](ctx, c, "/networks", filter("team", team))
}

// CreateNetwork creates a private network.
func (c *Client) CreateNetwork(ctx context.Context, req api.CreateNetworkRequest) (*api.Network, error) {
	return post[api.Network](ctx, c, "/networks", req)
}

// DeleteNetwork deletes the private network id.
func (c *Client) DeleteNetwork(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, item("/networks", id), nil, nil, nil)
}

// ListHosts returns the hosts of region, or every host when region is empty.
func (c *Client) ListHosts(ctx context.Context, region string) ([]api.Host, error) {
	return list[api.Host](ctx, c, "/hosts", filter("region", region))
}

// CreateHost registers a host with its capacity.
func (c *Client) CreateHost(ctx context.Context, req api.CreateHostRequest) (*api.Host, error) {
	return post[api.Host](ctx, c, "/hosts", req)
}

// UpdateHost changes the set fields of host id and returns it.
func (c *Client) UpdateHost(ctx context.Context, id string, req api.UpdateHostRequest) (*api.Host, error) {
	return post[api.Host](ctx, c, item("/hosts", id), req)
}

// DeleteHost deletes the host id.
func (c *Client) DeleteHost(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, item("/hosts", id), nil, nil, nil)
}

// DrainHost stops placements on a host (by id or name); its machines stay.
func (c *Client) DrainHost(ctx context.Context, id string) (*api.Host, error) {
	return post[api.Host](ctx, c, item("/hosts", id)+"/drain", struct{}{})
}

// ResumeHost lets a drained host take placements again.
func (c *Client) ResumeHost(ctx context.Context, id string) (*api.Host, error) {
	return post[api.Host](ctx, c, item("/hosts", id)+"/resume", struct{}{})
}

// RevokeHost revokes the credential of a host's agent.
func (c *Client) RevokeHost(ctx context.Context, id string) (*api.Host, error) {
	return post[api.Host](ctx, c, item("/hosts", id)+"/revoke", struct{}{})
}

// CreateJoinToken creates a one-time join token for `hangar agent`.
func (c *Client) CreateJoinToken(ctx context.Context, req api.CreateJoinTokenRequest) (*api.JoinToken, error) {
	return post[api.JoinToken](ctx, c, "/hosts/tokens", req)
}

// ListFaults returns the pending sim faults.
func (c *Client) ListFaults(ctx context.Context) ([]api.Fault, error) {
	return list[api.Fault](ctx, c, "/sim/faults", nil)
}

// AddFault makes the next req.Count operations of kind req.Action fail.
func (c *Client) AddFault(ctx context.Context, req api.AddFaultRequest) (*api.Fault, error) {
	return post[api.Fault](ctx, c, "/sim/faults", req)
}

// Usage returns the usage report of month ("YYYY-MM", UTC): every machine's usage, live or
// destroyed, totalled per team and machine type.
func (c *Client) Usage(ctx context.Context, month string) (*api.UsageReport, error) {
	var out api.UsageReport
	if err := c.do(ctx, http.MethodGet, "/usage", url.Values{"month": {month}}, nil, &out); err != nil {
		return nil, err
	}
	if out.Rows == nil {
		out.Rows = []api.UsageRow{}
	}
	return &out, nil
}

// ListAudit returns the audit entries matching q, newest first.
func (c *Client) ListAudit(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	v := url.Values{}
	for name, val := range map[string]string{"team": q.Team, "user": q.User, "action": q.Action,
		"since": q.Since, "until": q.Until} {
		if val != "" {
			v.Set(name, val)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return list[api.AuditEntry](ctx, c, "/audit", v)
}
