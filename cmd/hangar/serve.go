package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"hangar/api"
	"hangar/internal/agentproto"
	"hangar/internal/cli"
	"hangar/internal/core"
	"hangar/internal/engine"
	"hangar/internal/fleet"
	"hangar/internal/httpapi"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/lifecycle"
	"hangar/internal/metrics"
	"hangar/internal/notify"
	"hangar/internal/reqid"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/postgres"
	"hangar/internal/store/sqlite"
	"hangar/internal/web"
)

// ServeCmd is `hangar serve`.
type ServeCmd struct {
	Listen   string `default:"127.0.0.1:3102" env:"HANGAR_LISTEN" help:"Address to serve the API on."`
	Data     string `default:"./hangar-data" env:"HANGAR_DATA" help:"Data directory (SQLite database, operator.key)."`
	Driver   string `default:"sim" enum:"sim,qemu" env:"HANGAR_DRIVER" help:"Hypervisor driver: sim (simulated hosts) or qemu (real virtual machines on this host)."`
	Database string `env:"HANGAR_DATABASE" help:"Database: a SQLite file path (default <data>/hangar.db), or a postgres:// URL to share one database between several replicas."`
	Sync     string `default:"full" enum:"normal,full" env:"HANGAR_SQLITE_SYNC" help:"SQLite synchronous mode: full survives power loss, normal only process crashes."`

	SimTimeScale       float64       `default:"1.0" env:"HANGAR_SIM_TIME_SCALE" help:"Multiply the simulated state durations (provisioning 40s, starting 25s, serviceready 6s, stopping 30s, restarting 40s)."`
	SimServiceReadyMin time.Duration `name:"sim-serviceready-min" default:"6s" env:"HANGAR_SIM_SERVICEREADY_MIN" help:"Shortest serviceready dwell, so clients polling every 5s observe it."`
	NoDefaultFleet     bool          `env:"HANGAR_NO_DEFAULT_FLEET" help:"Do not create the default simulated hosts on first start."`

	QEMU QEMUFlags `embed:"" prefix:"qemu-"`

	Catalog       string        `env:"HANGAR_CATALOG" type:"path" help:"JSON file with machine-type specs and rates to add to the built-in catalog."`
	PublicIPPool  string        `name:"public-ip-pool" default:"198.18.0.0/15" env:"HANGAR_PUBLIC_IP_POOL" help:"Prefix public IP addresses are assigned from."`
	PrivateRange  string        `default:"10.128.0.0/12" env:"HANGAR_PRIVATE_RANGE" help:"Private range of machines created without a network."`
	ShutdownHours int           `name:"default-shutdown-hours" default:"168" env:"HANGAR_DEFAULT_SHUTDOWN_HOURS" help:"Default shutdownTimeoutInHours of new machines."`
	TokenTTL      time.Duration `default:"336h" env:"HANGAR_TOKEN_TTL" help:"Lifetime of login access tokens."`
	MaxBody       int64         `default:"1048576" env:"HANGAR_MAX_BODY" help:"Largest request body in bytes."`
	MaxUpload     int64         `default:"4194304" env:"HANGAR_MAX_UPLOAD" help:"Largest script upload (createScript) body in bytes."`
	MaxListLimit  int           `default:"10000" env:"HANGAR_MAX_LIST_LIMIT" help:"Largest limit a list request may ask for; larger limits are lowered to it."`
	Quota         []string      `name:"quota" env:"HANGAR_QUOTA" placeholder:"NAME=N" help:"Default per-team limit, repeatable (or comma-separated): machines, running, networks, publicIps, scripts, snapshots; N a count (0: none allowed) or -1/unlimited. Built in: machines=100 running=50 networks=16 publicIps=16 scripts=100 snapshots=200. Teams' overrides: hangar admin teams update --quota."`

	ReadHeaderTimeout time.Duration `default:"10s" env:"HANGAR_READ_HEADER_TIMEOUT" help:"Time a client has to send a request's headers."`
	ReadTimeout       time.Duration `default:"60s" env:"HANGAR_READ_TIMEOUT" help:"Time a client has to send a whole request, body included."`
	WriteTimeout      time.Duration `default:"60s" env:"HANGAR_WRITE_TIMEOUT" help:"Time from the end of a request's headers to the end of its response."`
	IdleTimeout       time.Duration `default:"120s" env:"HANGAR_IDLE_TIMEOUT" help:"Time an idle keep-alive connection stays open."`

	KeyRate         float64 `default:"100" env:"HANGAR_KEY_RATE" help:"Requests per second allowed to one API key or access token (0: no limit)."`
	KeyBurst        int     `default:"200" env:"HANGAR_KEY_BURST" help:"Requests one API key or access token may send at once."`
	AddressRate     float64 `default:"200" env:"HANGAR_ADDRESS_RATE" help:"Requests per second allowed from one client address, an IPv6 client's /64 (0: no limit)."`
	AddressBurst    int     `default:"400" env:"HANGAR_ADDRESS_BURST" help:"Requests one client address may send at once."`
	LoginPerEmail   int     `default:"10" env:"HANGAR_LOGIN_PER_EMAIL" help:"users/login attempts per minute for one email (0: no limit)."`
	LoginPerAddress int     `default:"30" env:"HANGAR_LOGIN_PER_ADDRESS" help:"users/login attempts per minute from one client address (0: no limit)."`

	SMTPURL  string `name:"smtp-url" env:"HANGAR_SMTP_URL" placeholder:"URL" help:"Send notification emails through this SMTP server: smtp://[user:pass@]host[:port] (STARTTLS when offered, AUTH PLAIN with credentials) or smtps://… (implicit TLS). Without it they are written to <data>/outbox/*.eml."`
	SMTPFrom string `name:"smtp-from" default:"Hangar <hangar@localhost>" env:"HANGAR_SMTP_FROM" help:"From address of notification emails."`

	Workers  int    `default:"8" env:"HANGAR_ENGINE_WORKERS" help:"Machines the engine advances at once."`
	LogLevel string `default:"info" enum:"debug,info,warn,error" env:"HANGAR_LOG_LEVEL" help:"Log level."`

	ExternalURL string `name:"external-url" env:"HANGAR_EXTERNAL_URL" placeholder:"URL" help:"URL people reach this server at, e.g. https://hangar.example.com behind a TLS proxy: the web console then marks its cookies Secure and accepts that origin."`

	HostTimeout    time.Duration `name:"host-timeout" default:"30s" env:"HANGAR_HOST_TIMEOUT" help:"A host whose hangar agent has not synced for this long is unavailable: no placements, power calls refused, its machines keep their last known state."`
	AgentHeartbeat time.Duration `name:"agent-heartbeat" default:"5s" env:"HANGAR_AGENT_HEARTBEAT" help:"How often agents sync at least (the longest wait of their long poll); keep it well under --host-timeout."`
	TLSCert        string        `name:"tls-cert" type:"path" env:"HANGAR_TLS_CERT" help:"Serve HTTPS with this PEM certificate (and --tls-key); join tokens then carry its public key's SHA-256, which agents pin."`
	TLSKey         string        `name:"tls-key" type:"path" env:"HANGAR_TLS_KEY" help:"PEM private key of --tls-cert."`

	MetricsListen string `name:"metrics-listen" env:"HANGAR_METRICS_LISTEN" placeholder:"ADDR" help:"Also serve /metrics on this address, without credentials, for a Prometheus scraper on a private network (the API's /metrics needs the operator's key)."`

	// Pprof is hidden: it exists for the load benchmark (BENCHMARKS.md), not for operators.
	Pprof string `name:"pprof" hidden:"" placeholder:"ADDR" env:"HANGAR_PPROF" help:"Serve net/http/pprof on this loopback address (benchmarking only)."`
}

// Run runs the server until the context given to kong is cancelled (SIGINT/SIGTERM).
func (c *ServeCmd) Run(g *cli.Globals) error {
	srv, err := c.start(g.Ctx, g.Stdout, g.Stderr)
	if err != nil {
		return err
	}
	return srv.wait()
}

// server is a running hangar serve.
type server struct {
	addr   string
	http   *http.Server
	db     store.Store
	cancel context.CancelFunc
	done   chan error
	log    *slog.Logger
	once   sync.Once
	// closers close what start opened, last opened first, once the server has stopped.
	closers cleanup
	// metricsAddr is where --metrics-listen serves /metrics without credentials ("" without it).
	metricsAddr string
}

// cleanup is a stack of closers: start pushes one for each thing it opens, and a failed start
// runs them, as a stopped server does, in reverse order.
type cleanup []func() error

func (c *cleanup) push(close func() error) { *c = append(*c, close) }

// run calls the closers, last pushed first, and empties the stack.
func (c *cleanup) run() error {
	var errs []error
	for i := len(*c) - 1; i >= 0; i-- {
		errs = append(errs, (*c)[i]())
	}
	*c = nil
	return errors.Join(errs...)
}

// settings are the values of the flags that start checks before it opens anything.
type settings struct {
	cat           *core.Catalog
	pool, private netip.Prefix
	quotas        core.QuotaLimits // --quota, over core.DefaultQuotas
	tls           *tls.Config      // --tls-cert, --tls-key; nil: plain HTTP
	pin           string           // the pin of the --tls-cert's public key, for join tokens
}

// start binds the listener, opens the store, bootstraps, and starts the engine and the HTTP
// server. It returns once the listener is bound. A failed start closes what it had opened.
func (c *ServeCmd) start(ctx context.Context, stdout, stderr io.Writer) (_ *server, err error) {
	log := c.logger(stderr)
	set, err := c.settings()
	if err != nil {
		return nil, err
	}
	var closers cleanup
	defer func() {
		if err != nil {
			_ = closers.run()
		}
	}()
	// The port first: a port in use fails before anything is written to the data directory.
	ln, err := listen("--listen", c.Listen, &closers)
	if err != nil {
		return nil, err
	}
	metricsLn, err := c.listenMetrics(&closers)
	if err != nil {
		return nil, err
	}
	if err := c.dataDir(&closers); err != nil {
		return nil, err
	}
	met := metrics.New()
	db, gens, hub, single, err := c.store(ctx, &closers, log, met)
	if err != nil {
		return nil, err
	}
	drivers, err := c.drivers(ctx, set.cat, set.private, log)
	if err != nil {
		return nil, err
	}
	drv := drivers.drv
	env := &lifecycle.Env{Clock: core.SystemClock{}, PublicPool: set.pool, DefaultNet: set.private, Expect: drv.Expect,
		Quotas: set.quotas}
	// The hosts this process runs go through drv; hosts run by `hangar agent` through the
	// fleet's remote driver, which hands each step to the agent.
	var svc *service.Service
	hosts := &fleet.Drivers{Store: db, Local: drv, Clock: env.Clock, Added: func(h string) { svc.OpsAdded(h) }}
	eng, err := engine.New(engine.Config{Store: db, Drivers: hosts, Env: env, Logger: log,
		Workers: c.Workers, ResetLeases: single, WatchInterval: c.QEMU.Watch, OnStep: met.EngineStep})
	if err != nil {
		return nil, err
	}
	svc = service.New(db, service.Config{Catalog: set.cat, Env: env, Logger: log, TokenTTL: c.TokenTTL,
		DefaultShutdownHours: c.ShutdownHours, Generations: optionalGens(gens), SharedStore: !single,
		TemplateCheck: drivers.templateCheck, Engine: eng, AgentHeartbeat: c.AgentHeartbeat, HostTimeout: c.HostTimeout, AgentPin: set.pin})
	monitor := &fleet.Monitor{Store: db, Env: env, Timeout: c.HostTimeout, Logger: log}
	mailer, err := c.mailer(db, env.Clock, log, met)
	if err != nil {
		return nil, err
	}
	if err := c.bootstrap(ctx, svc, stdout, drivers.sim != nil); err != nil {
		return nil, err
	}
	api, err := c.api(ctx, svc, drivers, log, met)
	if err != nil {
		return nil, err
	}
	met.WatchStore(db, env.Clock, log)
	console := c.console(svc, hub.Hub, drivers, log)
	hs := &http.Server{Handler: rootMux(api, console), ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout, IdleTimeout: c.IdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	hs.RegisterOnShutdown(console.CloseStreams)
	if c.Pprof != "" {
		pp, err := startPprof(c.Pprof, log)
		if err != nil {
			return nil, err
		}
		closers.push(pp.Close)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &server{addr: ln.Addr().String(), http: hs, db: db, cancel: cancel, done: make(chan error, 2), log: log}
	if metricsLn != nil {
		s.metricsAddr = serveMetrics(metricsLn, met, &closers, log)
	}
	mailDone := make(chan struct{})
	go func() { s.done <- eng.Run(runCtx) }()
	monDone := make(chan struct{})
	go func() { defer close(monDone); monitor.Run(runCtx) }()
	closers.push(func() error { <-monDone; return nil })
	go hub.relay(runCtx)
	go func() {
		defer close(mailDone)
		_ = mailer.Run(runCtx)
	}()
	closers.push(func() error { eng.Wait(); <-mailDone; return nil })
	s.closers = closers
	go func() {
		l := ln
		if set.tls != nil {
			l = tls.NewListener(ln, set.tls)
		}
		if err := hs.Serve(httpapi.ShapeServerErrors(l)); !errors.Is(err, http.ErrServerClosed) {
			s.done <- err
		}
	}()
	go func() {
		<-ctx.Done()
		s.stop()
	}()
	log.Info("hangar serving", "addr", s.addr, "data", c.Data, "driver", drv.Name(), "sim_time_scale", c.SimTimeScale)
	return s, nil
}

// logger is the server's log, at --log-level, with request ids.
func (c *ServeCmd) logger(stderr io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	return slog.New(reqid.NewHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
}

// settings reads and checks the flags that need more than their type: the catalog file, the
// address ranges, the limits and the sim time scale.
func (c *ServeCmd) settings() (settings, error) {
	cat := core.DefaultCatalog()
	if c.Catalog != "" {
		b, err := os.ReadFile(c.Catalog)
		if err != nil {
			return settings{}, fmt.Errorf("catalog: %w", err)
		}
		if err := cat.Apply(b); err != nil {
			return settings{}, err
		}
	}
	pool, err := netip.ParsePrefix(c.PublicIPPool)
	if err != nil {
		return settings{}, fmt.Errorf("--public-ip-pool: %w", err)
	}
	private, err := netip.ParsePrefix(c.PrivateRange)
	if err != nil {
		return settings{}, fmt.Errorf("--private-range: %w", err)
	}
	if err := c.checkLimits(); err != nil {
		return settings{}, err
	}
	if c.SimTimeScale < 0 {
		return settings{}, errors.New("--sim-time-scale cannot be negative")
	}
	quotas, err := parseQuotas(c.Quota)
	if err != nil {
		return settings{}, err
	}
	if c.HostTimeout <= 0 || c.AgentHeartbeat <= 0 || c.AgentHeartbeat >= c.HostTimeout {
		return settings{}, fmt.Errorf("--agent-heartbeat %s must be positive and shorter than --host-timeout %s", c.AgentHeartbeat, c.HostTimeout)
	}
	set := settings{cat: cat, pool: pool, private: private, quotas: quotas}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return settings{}, errors.New("--tls-cert and --tls-key go together")
	}
	if c.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return settings{}, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		set.tls = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		set.pin = agentproto.Pin(pair.Leaf)
	}
	return set, nil
}

// parseQuotas reads the --quota flags: NAME=N each, a name at most once.
func parseQuotas(flags []string) (core.QuotaLimits, error) {
	out := core.QuotaLimits{}
	for _, f := range flags {
		q, n, err := core.ParseQuotaSetting(f)
		if err != nil {
			return nil, fmt.Errorf("--quota: %s", core.ErrorMessage(err))
		}
		if _, dup := out[q]; dup {
			return nil, fmt.Errorf("--quota: %s is given twice", q)
		}
		out[q] = n
	}
	return out, nil
}

// listen binds addr, the value of flag (--listen, --metrics-listen). The server closes the
// listener when it shuts down; the closer is for a start that fails before serving.
func listen(flag, addr string, closers *cleanup) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	closers.push(func() error {
		if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return ln, nil
}

// store opens the database (openStore) with the change tracking of the live views
// (liveChanges), when this process is its only user the generation counter of the read caches
// (gens, else nil; single reports that case), and outermost the info log of state changes and
// failed operations (lifecycle.Logged).
func (c *ServeCmd) store(ctx context.Context, closers *cleanup, log *slog.Logger, met *metrics.Metrics) (
	db store.Store, gens *store.Generations, hub liveHub, single bool, err error) {
	raw, single, err := c.openStore(ctx, met)
	if err != nil {
		return nil, nil, liveHub{}, false, err
	}
	closers.push(raw.Close)
	db, hub = c.liveChanges(raw, !single, log)
	if single { // every write goes through this process: reads may be cached
		gens = store.NewGenerations(db)
		db = gens
	}
	return lifecycle.Logged(db, log), gens, hub, single, nil
}

// api builds the HTTP API over svc with the driver's extras: fault injection (sim), or this
// host registered for placement and described in the host listing (qemu).
func (c *ServeCmd) api(ctx context.Context, svc *service.Service, d drivers, log *slog.Logger, met *metrics.Metrics) (*httpapi.Server, error) {
	cfg := httpapi.Config{Service: svc, Logger: log, Driver: d.drv.Name(),
		MaxBody: c.MaxBody, MaxUpload: c.MaxUpload, MaxListLimit: c.MaxListLimit, Limits: httpapi.Limits{
			KeyRate: c.KeyRate, KeyBurst: c.KeyBurst, AddressRate: c.AddressRate, AddressBurst: c.AddressBurst,
			LoginPerEmail: c.LoginPerEmail, LoginPerAddress: c.LoginPerAddress},
		Observer: met.HTTP(), Metrics: met.Handler(), RequestTimeout: requestTimeout(c.WriteTimeout)}
	if d.sim != nil {
		cfg.Faults = simFaults{d.sim}
	}
	if d.qemu != nil {
		var err error
		if cfg.HostInfo, err = c.QEMU.register(ctx, svc, d.qemu, log); err != nil {
			return nil, err
		}
	}
	return httpapi.New(cfg), nil
}

// requestTimeout is how long an API call may wait (for a locked database, say) before it gives
// up unapplied with a 503: a little less than the HTTP write timeout, so that the answer
// still reaches the client; none when the write timeout is off.
func requestTimeout(write time.Duration) time.Duration {
	if write <= 0 {
		return 0
	}
	return write - min(write/10, 2*time.Second)
}

// rootMux is the server's root: the Paperspace API at "/" (a browser asking for the bare
// root is sent to the console), the operator API at api.OperatorPrefix and under it, the
// console under web.Prefix, and the metrics (for the operator's key) at httpapi.MetricsPath.
// A request for a non-canonical API path (a double slash, a dot segment) goes to the API,
// which resolves it as Paperspace clients expect, instead of the mux's redirect.
func rootMux(a *httpapi.Server, console *web.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", web.Home(a.Paperspace()))
	mux.Handle(api.OperatorPrefix, a.Operator())
	mux.Handle(api.OperatorPrefix+"/", a.Operator())
	mux.Handle(web.Prefix, console)
	mux.Handle(api.AgentPrefix+"/", a.Agent())
	if m := a.Metrics(); m != nil {
		mux.Handle(httpapi.MetricsPath, m)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; !canonical(p) && !strings.HasPrefix(p, web.Prefix) {
			a.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// canonical reports whether http.ServeMux would serve p as it is rather than redirect: no
// empty, "." or ".." segment, a trailing slash aside.
func canonical(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// mailer returns the outbox's mailer: SMTP with --smtp-url, else .eml files in <data>/outbox.
func (c *ServeCmd) mailer(db store.Store, clock core.Clock, log *slog.Logger, met *metrics.Metrics) (*notify.Mailer, error) {
	from, err := mail.ParseAddress(c.SMTPFrom)
	if err != nil {
		return nil, fmt.Errorf("--smtp-from %q: %w", c.SMTPFrom, err)
	}
	var sender notify.Sender = notify.Dir{Path: filepath.Join(c.Data, "outbox")}
	if c.SMTPURL != "" {
		s, err := notify.ParseSMTPURL(c.SMTPURL)
		if err != nil {
			return nil, err
		}
		s.From = from.Address
		sender = s
	}
	return notify.NewMailer(notify.Config{Store: db, Clock: clock, Sender: sender, From: from.String(), Logger: log,
		OnAttempt: met.MailAttempt}), nil
}

// openStore opens the database named by --database: SQLite by default, PostgreSQL for a
// postgres:// URL. single reports whether this process is the database's only user (SQLite),
// in which case the engine may clear stale leases at start. Its writes are timed into met.
func (c *ServeCmd) openStore(ctx context.Context, met *metrics.Metrics) (db store.Store, single bool, err error) {
	switch {
	case strings.HasPrefix(c.Database, "postgres://"), strings.HasPrefix(c.Database, "postgresql://"):
		db, err = postgres.Open(ctx, c.Database, postgres.Options{OnWrite: met.StoreWrite})
		return db, false, err
	case strings.Contains(c.Database, "://"):
		return nil, false, fmt.Errorf("--database %q: use a SQLite file path or a postgres:// URL", c.Database)
	}
	path := c.Database
	if path == "" {
		path = filepath.Join(c.Data, "hangar.db")
	}
	db, err = sqlite.Open(ctx, path, sqlite.Options{Synchronous: c.Sync, OnWrite: met.StoreWrite, OnBatch: met.StoreBatch})
	return db, true, err
}

// bootstrap creates the operator on first start and writes its key to <data>/operator.key.
func (c *ServeCmd) bootstrap(ctx context.Context, svc *service.Service, stdout io.Writer, simFleet bool) error {
	keyPath := filepath.Join(c.Data, "operator.key")
	secret, err := svc.Bootstrap(ctx, simFleet && !c.NoDefaultFleet)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if secret == "" {
		return nil
	}
	if err := os.WriteFile(keyPath, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write operator key: %w", err)
	}
	fmt.Fprintf(stdout, "Created the operator account. Its API key (also in %s, shown only this once):\n%s\n", keyPath, secret)
	return nil
}

// stop shuts down gracefully: stop accepting and finish requests, then stop the engine.
func (s *server) stop() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		err := s.http.Shutdown(ctx)
		s.cancel()
		s.done <- err
	})
}

// wait blocks until the server has stopped and what it opened is closed, the store last.
func (s *server) wait() error {
	err := <-s.done
	if err != nil {
		s.stop()
	}
	cerr := s.closers.run()
	s.log.Info("hangar stopped")
	return errors.Join(err, cerr)
}

// simFaults adapts the sim driver to the operator API's fault injection.
type simFaults struct{ d *sim.Driver }

func (f simFaults) InjectFault(action string, count int, message string) (api.Fault, error) {
	got, err := f.d.Arm(sim.Fault{Action: action, Remaining: count, Message: message})
	return api.Fault(got), err // the same fields; zero on error
}

func (f simFaults) Faults() []api.Fault {
	out := []api.Fault{}
	for _, x := range f.d.Faults() {
		out = append(out, api.Fault(x))
	}
	return out
}

// optionalGens is g when there is one (a single-process store), else nil: a nil
// *store.Generations must not become a non-nil interface.
func optionalGens(g *store.Generations) interface{ Gen() uint64 } {
	if g != nil {
		return g
	}
	return nil
}

// checkLimits refuses limits that cannot work: a negative size, rate or timeout.
func (c *ServeCmd) checkLimits() error {
	for name, v := range map[string]float64{"--max-body": float64(c.MaxBody), "--max-upload": float64(c.MaxUpload),
		"--max-list-limit": float64(c.MaxListLimit), "--key-rate": c.KeyRate, "--key-burst": float64(c.KeyBurst),
		"--address-rate": c.AddressRate, "--address-burst": float64(c.AddressBurst),
		"--login-per-email": float64(c.LoginPerEmail), "--login-per-address": float64(c.LoginPerAddress),
		"--read-header-timeout": float64(c.ReadHeaderTimeout), "--read-timeout": float64(c.ReadTimeout),
		"--write-timeout": float64(c.WriteTimeout), "--idle-timeout": float64(c.IdleTimeout)} {
		if v < 0 || v != v {
			return fmt.Errorf("%s cannot be negative", name)
		}
	}
	return nil
}
