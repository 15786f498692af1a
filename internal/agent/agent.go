package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"hangar/api"
	"hangar/internal/agentproto"
	"hangar/internal/hypervisor"
)

// Config configures an Agent.
type Config struct {
	// Server is the control plane's URL (http://… only on loopback unless AllowHTTP).
	Server    string
	AllowHTTP bool
	// Token is the join token; needed only until the agent has a credential.
	Token string
	// Data is the agent's data directory (its credential and journal).
	Data string
	Name string
	// Driver runs the machines; DriverName, Accelerator and GPUs describe it to the control
	// plane.
	Driver      hypervisor.Driver
	DriverName  string
	Accelerator string
	GPUs        map[string][]string
	Capacity    map[string]int
	Version     string
	Logger      *slog.Logger
	// WatchInterval is how often VMs shown running are checked when the driver is a
	// hypervisor.Watcher (default 5 s).
	WatchInterval time.Duration
}

// Agent is a running `hangar agent`.
type Agent struct {
	cfg  Config
	log  *slog.Logger
	http *http.Client
	base string // server URL without a trailing slash

	mu       sync.Mutex
	id       identity
	j        *journal
	running  map[string]runningOp // by op id
	invDirty bool
	kick     chan struct{}
	status   Status
	wg       sync.WaitGroup
}

// runningOp is an operation the agent executes now.
type runningOp struct {
	cancel  context.CancelFunc
	machine string
}

// Status is what the agent's local status endpoint reports.
type Status struct {
	Host      string    `json:"host"`
	HostID    string    `json:"hostId"`
	Region    string    `json:"region"`
	Server    string    `json:"server"`
	State     string    `json:"state"` // the control plane's word for the host, "" before the first sync
	Connected bool      `json:"connected"`
	LastSync  time.Time `json:"lastSync"`
	LastError string    `json:"lastError,omitempty"`
	Running   []string  `json:"running"`
	Ops       int       `json:"ops"`
}

// ErrRefused wraps the control plane's refusals that a restart cannot cure: a join token
// that is bad, used, expired or for another region, a revoked credential.
var ErrRefused = errors.New("refused by the control plane")

// New checks the configuration, reads the data directory and returns an agent; nothing is
// sent yet.
func New(cfg Config) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WatchInterval <= 0 {
		cfg.WatchInterval = 5 * time.Second
	}
	u, err := url.Parse(strings.TrimRight(cfg.Server, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--server %q: give the control plane's URL, e.g. https://hangar.example.com", cfg.Server)
	}
	if u.Scheme == "http" && !cfg.AllowHTTP && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("--server %s: plain HTTP is allowed only on loopback; use https, or --allow-http on a network you trust", cfg.Server)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, base: u.String(), running: map[string]runningOp{},
		kick: make(chan struct{}, 1)}
	id, have, err := readIdentity(cfg.Data)
	if err != nil {
		return nil, err
	}
	if have && id.Server != a.base {
		return nil, fmt.Errorf("%s/%s belongs to control plane %s, not %s: use another --data", cfg.Data, identityFile, id.Server, a.base)
	}
	if have && id.Name != cfg.Name {
		return nil, fmt.Errorf("%s/%s is the agent of host %s, not %s: use another --data or --name %s",
			cfg.Data, identityFile, id.Name, cfg.Name, id.Name)
	}
	pin := id.Pin
	if !have {
		if cfg.Token == "" {
			return nil, fmt.Errorf("no credential in %s yet: give --token (hangar admin hosts tokens create)", cfg.Data)
		}
		tok, err := agentproto.ParseJoinToken(cfg.Token)
		if err != nil {
			return nil, err
		}
		pin = tok.Pin
	}
	a.id = id
	a.http = newClient(u.Scheme == "https", pin)
	if a.j, err = readJournal(cfg.Data); err != nil {
		return nil, err
	}
	a.invDirty = true // the first sync always reports what runs
	return a, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newClient is the HTTP client of the control plane. With a pin, the server's certificate
// is trusted exactly when its public key hashes to the pin (no CA needed); without one, the
// system's roots decide.
func newClient(https bool, pin string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if https && pin != "" {
		tr.TLSClientConfig = &tls.Config{
			InsecureSkipVerify: true, //nolint:gosec // verified against the pin just below
			MinVersion:         tls.VersionTLS12,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || agentproto.Pin(cs.PeerCertificates[0]) != pin {
					return fmt.Errorf("the control plane's certificate does not match the pin of the join token (sha256 %s)", pin)
				}
				return nil
			},
		}
	}
	return &http.Client{Transport: tr}
}

// Run joins if the agent has no credential yet, then syncs until ctx ends. It returns an
// error wrapping ErrRefused when the control plane refuses the token or the credential.
func (a *Agent) Run(ctx context.Context) error {
	if a.id.Credential == "" {
		if err := a.join(ctx); err != nil {
			return err
		}
	}
	a.setStatus(func(s *Status) {
		s.Host, s.HostID, s.Region, s.Server = a.id.Name, a.id.HostID, a.id.Region, a.id.Server
	})
	a.log.Info("agent: running", "host", a.id.Name, "id", a.id.HostID, "region", a.id.Region, "server", a.base)
	a.wg.Go(func() { a.watch(ctx) })
	err := a.loop(ctx)
	a.mu.Lock()
	for _, r := range a.running {
		r.cancel()
	}
	a.mu.Unlock()
	a.wg.Wait()
	return err
}

func (a *Agent) join(ctx context.Context) error {
	tok, err := agentproto.ParseJoinToken(a.cfg.Token)
	if err != nil {
		return err
	}
	req := api.AgentJoinRequest{Protocol: api.AgentProtocol, Token: tok.Secret, Name: a.cfg.Name, Driver: a.cfg.DriverName,
		Accelerator: a.cfg.Accelerator, Capacity: a.cfg.Capacity, GPUs: a.cfg.GPUs, Version: a.cfg.Version}
	var resp api.AgentJoinResponse
	if err := a.post(ctx, "/join", "", req, &resp, 30*time.Second); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	tokenID, _, _ := strings.Cut(tok.Secret, ".")
	a.id = identity{Server: a.base, HostID: resp.HostID, Name: a.cfg.Name, Region: resp.Region,
		Credential: resp.Credential, Pin: tok.Pin, TokenID: tokenID}
	if err := a.id.write(a.cfg.Data); err != nil {
		return fmt.Errorf("save the credential: %w", err)
	}
	a.log.Info("agent: joined", "host", a.cfg.Name, "id", resp.HostID, "region", resp.Region)
	return nil
}

// errStatus is an error answer of the control plane.
type errStatus struct {
	status  int
	message string
}

func (e *errStatus) Error() string { return fmt.Sprintf("%d: %s", e.status, e.message) }

// post sends one request of the protocol. 401s wrap ErrRefused; so do 400s of a join.
func (a *Agent) post(ctx context.Context, path, cred string, in, out any, timeout time.Duration) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+api.AgentPrefix+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e api.ErrorBody
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		se := &errStatus{status: resp.StatusCode, message: msg}
		if resp.StatusCode == http.StatusUnauthorized || (path == "/join" && resp.StatusCode < 500) {
			return fmt.Errorf("%w: %w", ErrRefused, se)
		}
		return se
	}
	return json.Unmarshal(b, out)
}

// Status returns what the agent knows now.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.status
	s.Running = a.j.running()
	s.Ops = len(a.running)
	return s
}

func (a *Agent) setStatus(f func(*Status)) {
	a.mu.Lock()
	f(&a.status)
	a.mu.Unlock()
}

// poke makes the loop sync now (a result to report, an inventory change).
func (a *Agent) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}
