// Package service holds Hangar's business rules: accounts, machines, templates, scripts,
// networks, hosts and IP addresses. Each call runs in one store transaction; slow work is
// left to the engine, which the service wakes after a commit.
package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"hangar/internal/core"
	"hangar/internal/lifecycle"
	"hangar/internal/store"
)

// Config configures a Service.
type Config struct {
	Catalog *core.Catalog
	Env     *lifecycle.Env
	Logger  *slog.Logger
	// TokenTTL is the lifetime of a login access token.
	TokenTTL time.Duration
	// DefaultShutdownHours is shutdownTimeoutInHours when a create does not send it.
	DefaultShutdownHours int
	// OperatorEmail is the email of the operator account created on first start.
	OperatorEmail string
	// Generations, when set, counts every committed write to the store and enables the read
	// cache of machines; set it only when this process is the database's only writer.
	Generations interface{ Gen() uint64 }
	// SharedStore says that other processes write the same database (replicas on PostgreSQL):
	// authentication then checks the store's credential generation on every cache hit, so
	// that a key revoked by any replica is refused on the next request.
	SharedStore bool
	// TemplateCheck, when set, says whether the hypervisor driver can run machines of a
	// template (the qemu driver needs an image); templates and creates it rejects are 400s.
	TemplateCheck func(core.Template) error
	// Engine is told about commits that give it work; nil: nobody is told (tests that drive
	// machines by hand).
	Engine Engine
	// AgentHeartbeat is how often `hangar agent` syncs at least (default 5 s).
	AgentHeartbeat time.Duration
	// HostTimeout is how long a host's agent may go without a sync before its host is
	// unreachable (default 30 s). A sync records its heartbeat only when the last recorded
	// one is a third of that old, so that most syncs of a steady agent write nothing.
	HostTimeout time.Duration
	// AgentPin is the pin of this server's TLS certificate ("sha256:" and the hex SHA-256
	// of its public key), put into join tokens so that agents trust only this server; "" when
	// the server has no certificate of its own (plain HTTP, or TLS ended by a proxy).
	AgentPin string
}

// Engine is what the service tells the machine engine after a commit.
type Engine interface {
	// Wake says that a commit gave the engine work.
	Wake()
	// Destroyed says that a machine was destroyed, so that what its driver holds is freed.
	Destroyed(core.Machine)
}

// Service implements the use cases of the Paperspace and operator APIs.
type Service struct {
	st    store.Store
	cfg   Config
	env   *lifecycle.Env
	clock core.Clock
	log   *slog.Logger
	pw    *hasher

	machines machineCache
	auth     *authCache

	hubOnce sync.Once
	hub     *opsHub
}

// New returns a Service over st.
func New(st store.Store, cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 14 * 24 * time.Hour
	}
	if cfg.OperatorEmail == "" {
		cfg.OperatorEmail = "operator@hangar.local"
	}
	return &Service{st: st, cfg: cfg, env: cfg.Env, clock: cfg.Env.Clock, log: cfg.Logger, pw: newHasher(4),
		auth: newAuthCache()}
}

// Catalog returns the catalog the service validates against.
func (s *Service) Catalog() *core.Catalog { return s.cfg.Catalog }

func (s *Service) wake() {
	if s.cfg.Engine != nil {
		s.cfg.Engine.Wake()
	}
}

func (s *Service) read(ctx context.Context, fn func(store.Tx) error) error {
	return s.st.Read(ctx, fn)
}

// write runs fn in a write transaction. When ctx carries a pending Audit not yet stored, the
// entry is appended in the same transaction after fn succeeds: the first change a call commits
// carries its audit entry. Writes that are not the call's change (a key's last-used time) use
// writeQuiet.
func (s *Service) write(ctx context.Context, fn func(store.Tx) error) error {
	a := auditOf(ctx)
	if a == nil || a.stored {
		return s.st.Write(ctx, fn)
	}
	err := s.st.Write(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		e := a.Entry
		e.Time = s.clock.Now()
		return tx.AppendAudit(&e)
	})
	if err == nil {
		a.stored = true
	}
	return err
}

// writeQuiet runs fn in a write transaction that never carries the call's audit entry.
func (s *Service) writeQuiet(ctx context.Context, fn func(store.Tx) error) error {
	return s.st.Write(ctx, fn)
}

func invalid(format string, args ...any) error { return core.Errorf(core.Invalid, format, args...) }

func forbidden(format string, args ...any) error {
	return core.Errorf(core.Forbidden, format, args...)
}

func ptr[T any](v T) *T { return &v }
