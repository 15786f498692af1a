package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sender delivers one rendered message to one recipient.
type Sender interface {
	Send(ctx context.Context, id, to string, msg []byte) error
}

// permanentError is a delivery failure that retrying cannot fix (an SMTP 5xx reply).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// isPermanent reports whether err is a failure that retrying cannot fix.
func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// SMTP sends through an SMTP server (RFC 5321) with the standard library's net/smtp. It
// upgrades the connection with STARTTLS whenever the server offers it, and authenticates
// with AUTH PLAIN when a username is set (net/smtp refuses PLAIN on an unencrypted
// connection except to localhost).
type SMTP struct {
	Addr     string // host:port
	Implicit bool   // TLS from the first byte (smtps://, port 465) instead of STARTTLS
	Username string
	Password string
	From     string      // envelope sender (the bare address)
	TLS      *tls.Config // nil: the system roots, ServerName from Addr
	Timeout  time.Duration
}

// ParseSMTPURL reads smtp://[user[:pass]@]host[:port] (port 587 by default) or
// smtps://…(port 465, implicit TLS).
func ParseSMTPURL(raw string) (*SMTP, error) {
	// Errors never repeat the URL: it may hold a password.
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("--smtp-url: not a valid URL")
	}
	s := &SMTP{Timeout: 30 * time.Second}
	port := "587"
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.Implicit, port = true, "465"
	default:
		return nil, errors.New("--smtp-url: the scheme must be smtp or smtps")
	}
	if u.Hostname() == "" {
		return nil, errors.New("--smtp-url: no host")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	s.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, _, to string, msg []byte) error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return permanentError{err}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsConfig := s.TLS
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	tlsConfig = tlsConfig.Clone()
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = host
	}
	var conn net.Conn
	if s.Implicit {
		conn, err = (&tls.Dialer{Config: tlsConfig}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	if err := c.Hello("hangar"); err != nil {
		return classify(err)
	}
	secure := s.Implicit
	if ok, _ := c.Extension("STARTTLS"); ok && !s.Implicit {
		if err := c.StartTLS(tlsConfig); err != nil {
			return classify(err)
		}
		secure = true
	}
	if s.Username != "" {
		if ip := net.ParseIP(host); !secure && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return permanentError{fmt.Errorf("smtp: %s offers no STARTTLS; not sending the password in clear", s.Addr)}
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return classify(err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return classify(err)
	}
	if err := c.Rcpt(to); err != nil {
		return classify(err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify(err)
	}
	if err := w.Close(); err != nil {
		return classify(err)
	}
	_ = c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// classify marks SMTP 5xx replies permanent; everything else (4xx, network) is retried.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanentError{err}
	}
	return err
}

// Dir writes each message as <id>.eml into a directory: the outbox of a server without SMTP.
type Dir struct{ Path string }

// Send implements Sender. The file appears whole (written aside, then renamed), and writing
// the same message again replaces it, so a retried delivery leaves one file.
func (d Dir) Send(_ context.Context, id, _ string, msg []byte) error {
	if strings.ContainsAny(id, `/\`) || id == "" || id[0] == '.' {
		return permanentError{fmt.Errorf("notify: bad message id %q", id)}
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(d.Path, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(msg)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return werr
	}
	return os.Rename(f.Name(), filepath.Join(d.Path, id+".eml"))
}
