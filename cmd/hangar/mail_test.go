package main

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"hangar/internal/core"
	"hangar/internal/store"
)

// mailSink is a real SMTP server (emersion/go-smtp) on loopback that keeps what it accepts.
type mailSink struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (s *mailSink) all() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

type sinkSession struct{ s *mailSink }

func (x sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x sinkSession) Reset()                               {}
func (x sinkSession) Logout() error                        { return nil }
func (x sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, b)
	x.s.mu.Unlock()
	return err
}

func startSink(t *testing.T) (*mailSink, string) {
	t.Helper()
	sink := &mailSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{sink}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return sink, ln.Addr().String()
}

// createNotified creates a machine with a notificationEmail as the operator (the admin of
// its own team) and waits until it is ready.
func createNotified(t *testing.T, ts *testServer) string {
	t.Helper()
	var m map[string]any
	body := map[string]any{"region": "East Coast (NY2)", "machineType": "C1", "size": 50, "billingType": "hourly",
		"machineName": "notified", "templateId": "t04azgph", "notificationEmail": "ada@example.com"}
	if st := ts.do(t, ts.Key, "POST", "/machines/createSingleMachinePublic", body, &m); st != 200 {
		t.Fatalf("create: %d %v", st, m)
	}
	id := m["id"].(string)
	ts.waitState(t, ts.Key, id, "ready", 20*time.Second)
	return id
}

func checkReadyMessage(t *testing.T, raw []byte, id string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	body, _ := io.ReadAll(msg.Body)
	if msg.Header.Get("To") != "ada@example.com" || !strings.Contains(string(body), "Machine ID: "+id) ||
		!strings.Contains(string(body), "State:      ready") {
		t.Fatalf("message:\n%s", raw)
	}
}

// TestServeMailsThroughSMTP: hangar serve --smtp-url delivers exactly one message when a
// machine first becomes ready.
func TestServeMailsThroughSMTP(t *testing.T) {
	sink, addr := startSink(t)
	ts := startServer(t, "--smtp-url", "smtp://"+addr, "--smtp-from", "Hangar <hangar@example.com>")
	id := createNotified(t, ts)
	deadline := time.Now().Add(15 * time.Second)
	for len(sink.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	ts.do(t, ts.Key, "POST", "/machines/"+id+"/restart", nil, nil)
	ts.waitState(t, ts.Key, id, "ready", 20*time.Second)
	// The outbox holds one message for the machine, delivered: nothing else can arrive.
	var outbox []core.Mail
	if err := ts.srv.db.Read(t.Context(), func(tx store.Tx) (err error) { outbox, err = tx.ListMail(id); return }); err != nil {
		t.Fatal(err)
	}
	if len(outbox) != 1 || outbox[0].Sent == nil || outbox[0].NextAt != nil {
		t.Fatalf("outbox after a restart: %+v", outbox)
	}
	got := sink.all()
	if len(got) != 1 {
		t.Fatalf("SMTP server received %d messages, want 1", len(got))
	}
	checkReadyMessage(t, got[0], id)
	if _, err := os.Stat(filepath.Join(ts.Data, "outbox")); !os.IsNotExist(err) {
		t.Fatalf("with --smtp-url the .eml outbox was written: %v", err)
	}
}

// TestServeWritesOutboxWithoutSMTP: without --smtp-url the message is a .eml file in
// <data>/outbox.
func TestServeWritesOutboxWithoutSMTP(t *testing.T) {
	ts := startServer(t)
	id := createNotified(t, ts)
	var files []string
	deadline := time.Now().Add(15 * time.Second)
	for len(files) == 0 && time.Now().Before(deadline) {
		files, _ = filepath.Glob(filepath.Join(ts.Data, "outbox", "*.eml"))
		time.Sleep(20 * time.Millisecond)
	}
	if len(files) != 1 {
		t.Fatalf("outbox holds %v, want one .eml", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	checkReadyMessage(t, raw, id)
}

// TestServeRejectsBadSMTPURL: a malformed --smtp-url stops the start, without echoing the
// password.
func TestServeRejectsBadSMTPURL(t *testing.T) {
	_, _, err := startArgs(t, t.Context(), "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--smtp-url", "http://u:hunter2@mail")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "smtp") {
		t.Fatalf("start with a bad --smtp-url: %v", err)
	}
}
