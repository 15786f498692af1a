package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// received is one message the test SMTP server accepted.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback that records what it
// accepts. With user set it requires AUTH PLAIN; with cert set it offers STARTTLS (and then
// allows AUTH only over TLS, as go-smtp does by default).
type smtpServer struct {
	addr string

	mu       sync.Mutex
	msgs     []received
	failNext int // reject the next failNext messages with failCode
	failCode int
	user     string
	pass     string
}

func startSMTP(t *testing.T, cert *tls.Certificate, user, pass string) *smtpServer {
	t.Helper()
	srv := &smtpServer{user: user, pass: pass}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: srv, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return srv
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	from string
	to   []string
	user string
}

func (s *session) AuthMechanisms() []string {
	if s.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.failNext > 0 {
		s.srv.failNext--
		return &smtp.SMTPError{Code: s.srv.failCode, EnhancedCode: smtp.EnhancedCode{s.srv.failCode / 100, 0, 0},
			Message: "rejected by the test server"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.msgs = append(s.srv.msgs, received{from: s.from, to: s.to, data: b, tls: isTLS, user: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hangar test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

type bundle struct {
	clock *clocktest.Clock
	st    store.Store
}

func setup(t *testing.T) *bundle {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC))
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{Synchronous: "NORMAL", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &bundle{clock: clock, st: st}
}

func testMachine() core.Machine {
	to := "ada@example.com"
	pub := "198.18.0.7"
	return core.Machine{ID: "psabc1234", Name: "gpu box", State: core.StateReady, MachineType: "P4000",
		Region: "East Coast (NY2)", NotificationMail: &to, PublicIP: &pub}
}

// queue writes a ready message for testMachine into the outbox.
func (b *bundle) queue(t *testing.T) core.Mail {
	t.Helper()
	m := ReadyMail(testMachine(), b.clock.Now())
	if err := b.st.Write(context.Background(), func(tx store.Tx) error { return tx.CreateMail(&m) }); err != nil {
		t.Fatal(err)
	}
	return m
}

func (b *bundle) outbox(t *testing.T) []core.Mail {
	t.Helper()
	var out []core.Mail
	if err := b.st.Read(context.Background(), func(tx store.Tx) (err error) { out, err = tx.ListMail("psabc1234"); return }); err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *bundle) drain(t *testing.T, m *Mailer) int {
	t.Helper()
	n, err := m.Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkMessage parses a delivered message and checks that it names the machine and its state.
func checkMessage(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	if to := msg.Header.Get("To"); to != "ada@example.com" {
		t.Fatalf("To = %q", to)
	}
	if _, err := msg.Header.AddressList("From"); err != nil {
		t.Fatalf("From %q: %v", msg.Header.Get("From"), err)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Fatalf("Date: %v", err)
	}
	body, _ := io.ReadAll(msg.Body)
	for _, want := range []string{"Machine ID: psabc1234", "State:      ready", "Name:       gpu box"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("body lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(msg.Header.Get("Subject"), "gpu box") {
		t.Fatalf("Subject = %q", msg.Header.Get("Subject"))
	}
	return msg
}

func TestSMTPDeliversOnce(t *testing.T) {
	b := setup(t)
	srv := startSMTP(t, nil, "", "")
	mailer := NewMailer(Config{Store: b.st, Clock: b.clock, From: "Hangar <hangar@example.com>",
		Sender: &SMTP{Addr: srv.addr, From: "hangar@example.com"}})
	queued := b.queue(t)
	if n := b.drain(t, mailer); n != 1 {
		t.Fatalf("Drain tried %d messages, want 1", n)
	}
	b.clock.Advance(24 * time.Hour)
	if n := b.drain(t, mailer); n != 0 {
		t.Fatalf("second Drain tried %d messages, want 0", n)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	if got[0].from != "hangar@example.com" || len(got[0].to) != 1 || got[0].to[0] != "ada@example.com" {
		t.Fatalf("envelope from %q to %v", got[0].from, got[0].to)
	}
	msg := checkMessage(t, got[0].data)
	if id := msg.Header.Get("Message-Id"); id != "<"+queued.ID+"@hangar>" {
		t.Fatalf("Message-ID = %q", id)
	}
	ob := b.outbox(t)
	if len(ob) != 1 || ob[0].Sent == nil || ob[0].NextAt != nil || ob[0].Attempts != 1 {
		t.Fatalf("outbox after delivery: %+v", ob)
	}
}

func TestSMTPStartTLSAndAuth(t *testing.T) {
	b := setup(t)
	cert, pool := selfSigned(t)
	srv := startSMTP(t, cert, "hangar", "s3cret")
	u, err := ParseSMTPURL("smtp://hangar:s3cret@" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	u.From, u.TLS = "hangar@example.com", &tls.Config{RootCAs: pool}
	mailer := NewMailer(Config{Store: b.st, Clock: b.clock, Sender: u})
	b.queue(t)
	b.drain(t, mailer)
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1 (outbox %+v)", len(got), b.outbox(t))
	}
	if !got[0].tls || got[0].user != "hangar" {
		t.Fatalf("message received with tls=%v user=%q, want STARTTLS and AUTH as hangar", got[0].tls, got[0].user)
	}
	checkMessage(t, got[0].data)

	// A wrong password is a permanent failure: no retry.
	b2 := setup(t)
	bad := *u
	bad.Password = "wrong"
	m2 := NewMailer(Config{Store: b2.st, Clock: b2.clock, Sender: &bad})
	b2.queue(t)
	b2.drain(t, m2)
	ob := b2.outbox(t)
	if len(ob) != 1 || ob[0].Sent != nil || ob[0].NextAt != nil || !strings.Contains(ob[0].LastError, "535") {
		t.Fatalf("outbox after a rejected login: %+v", ob)
	}
	if len(srv.messages()) != 1 {
		t.Fatal("a message was accepted without authentication")
	}
}

func TestSMTPRetriesAfterFailure(t *testing.T) {
	b := setup(t)
	srv := startSMTP(t, nil, "", "")
	srv.failNext, srv.failCode = 2, 451
	var attempts []string // what OnAttempt hears
	onAttempt := func(err error, final bool) {
		switch {
		case err == nil:
			attempts = append(attempts, "sent")
		case final:
			attempts = append(attempts, "gave up")
		default:
			attempts = append(attempts, "failed")
		}
	}
	mailer := NewMailer(Config{Store: b.st, Clock: b.clock, Sender: &SMTP{Addr: srv.addr, From: "hangar@example.com"},
		OnAttempt: onAttempt})
	b.queue(t)

	b.drain(t, mailer) // attempt 1: 451
	ob := b.outbox(t)
	if len(ob) != 1 || ob[0].Attempts != 1 || ob[0].NextAt == nil || !ob[0].NextAt.Equal(b.clock.Now().Add(Backoff(1))) ||
		!strings.Contains(ob[0].LastError, "451") {
		t.Fatalf("outbox after a 451: %+v", ob)
	}
	if n := b.drain(t, mailer); n != 0 {
		t.Fatalf("retried %d messages before the backoff passed", n)
	}
	b.clock.Advance(Backoff(1))
	b.drain(t, mailer) // attempt 2: 451 again
	b.clock.Advance(Backoff(2) - time.Millisecond)
	if n := b.drain(t, mailer); n != 0 {
		t.Fatal("retried before the doubled backoff passed")
	}
	b.clock.Advance(time.Millisecond)
	b.drain(t, mailer) // attempt 3: delivered
	if got := srv.messages(); len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	ob = b.outbox(t)
	if ob[0].Attempts != 3 || ob[0].Sent == nil || ob[0].NextAt != nil {
		t.Fatalf("outbox after the retries: %+v", ob)
	}
	if want := "failed failed sent"; strings.Join(attempts, " ") != want {
		t.Fatalf("OnAttempt heard %q, want %q", attempts, want)
	}
	attempts = nil

	// With the server gone, delivery is retried until MaxAttempts, then given up.
	b2 := setup(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	m2 := NewMailer(Config{Store: b2.st, Clock: b2.clock, MaxAttempts: 3, Sender: &SMTP{Addr: dead, From: "h@example.com"},
		OnAttempt: onAttempt})
	b2.queue(t)
	for range 5 {
		b2.drain(t, m2)
		b2.clock.Advance(4 * time.Hour)
	}
	ob = b2.outbox(t)
	if ob[0].Attempts != 3 || ob[0].NextAt != nil || ob[0].Sent != nil || ob[0].LastError == "" {
		t.Fatalf("outbox after giving up: %+v", ob)
	}
	if want := "failed failed gave up"; strings.Join(attempts, " ") != want {
		t.Fatalf("OnAttempt heard %q, want %q", attempts, want)
	}
}

func TestDirWritesParseableEML(t *testing.T) {
	b := setup(t)
	dir := filepath.Join(t.TempDir(), "outbox")
	mailer := NewMailer(Config{Store: b.st, Clock: b.clock, Sender: Dir{Path: dir}})
	queued := b.queue(t)
	b.drain(t, mailer)
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || filepath.Base(files[0]) != queued.ID+".eml" {
		t.Fatalf("outbox directory holds %v, want one %s.eml", files, queued.ID)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, raw)
	if !bytes.Contains(raw, []byte("\r\n\r\n")) {
		t.Fatal("message does not use CRLF line endings")
	}
}

func TestValidAddressAndHeaderInjection(t *testing.T) {
	for _, ok := range []string{"ada@example.com", "a.b+c@sub.example.org"} {
		if err := ValidAddress(ok); err != nil {
			t.Errorf("ValidAddress(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "nope", "Ada <ada@example.com>", "a@example.com, b@example.com", "a@example.com\r\nBcc: x@example.com"} {
		if err := ValidAddress(bad); core.ErrorCode(err) != core.Invalid {
			t.Errorf("ValidAddress(%q) = %v, want Invalid", bad, err)
		}
	}
	m := testMachine()
	m.Name = "evil\r\nBcc: victim@example.com"
	raw := Render(ReadyMail(m, time.Now()), "Hangar <h@example.com>")
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" {
		t.Fatal("a machine name added a header")
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, c := range []struct {
		in, addr, user, pass string
		implicit             bool
	}{
		{"smtp://mail.example.com", "mail.example.com:587", "", "", false},
		{"smtp://u:p%40ss@mail.example.com:25", "mail.example.com:25", "u", "p@ss", false},
		{"smtps://u@mail.example.com", "mail.example.com:465", "u", "", true},
	} {
		s, err := ParseSMTPURL(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if s.Addr != c.addr || s.Username != c.user || s.Password != c.pass || s.Implicit != c.implicit {
			t.Fatalf("%s: %+v", c.in, s)
		}
	}
	for _, bad := range []string{"http://x", "smtp://", "::"} {
		if _, err := ParseSMTPURL(bad); err == nil {
			t.Fatalf("ParseSMTPURL(%q) succeeded", bad)
		}
	}
}
