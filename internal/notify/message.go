// Package notify delivers the notification emails of machines (notificationEmail, spec §2.2).
//
// Messages are written to the store's outbox in the same transaction as the state change they
// report (ReadyMail, FailedMail), so a message exists exactly when its change committed. The
// Mailer claims due messages with a lease, hands them to a Sender (SMTP, or .eml files in a
// directory) and records the outcome, retrying failures with backoff. Nothing here runs on
// the request path: mail problems never block or fail an API call.
package notify

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"hangar/internal/core"
)

// ValidAddress checks a notificationEmail: one plain address, as net/mail parses it.
func ValidAddress(addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(addr) {
		return core.Errorf(core.Invalid, "Invalid notificationEmail %q: must be an email address", addr)
	}
	return nil
}

// ReadyMail is the message sent when m first reaches ready.
func ReadyMail(m core.Machine, now time.Time) core.Mail {
	return newMail(m, now, fmt.Sprintf("Your machine %s is ready", oneLine(m.Name)),
		fmt.Sprintf("Your Hangar machine %s is ready.\n", oneLine(m.Name)), "")
}

// FailedMail is the message sent when m's provisioning failed with reason.
func FailedMail(m core.Machine, reason string, now time.Time) core.Mail {
	return newMail(m, now, fmt.Sprintf("Your machine %s could not be created", oneLine(m.Name)),
		fmt.Sprintf("Provisioning your Hangar machine %s failed.\n", oneLine(m.Name)), reason)
}

func newMail(m core.Machine, now time.Time, subject, intro, reason string) core.Mail {
	var b strings.Builder
	b.WriteString(intro + "\n")
	fmt.Fprintf(&b, "Machine ID: %s\n", m.ID)
	fmt.Fprintf(&b, "Name:       %s\n", oneLine(m.Name))
	fmt.Fprintf(&b, "State:      %s\n", m.State)
	fmt.Fprintf(&b, "Type:       %s\n", m.MachineType)
	fmt.Fprintf(&b, "Region:     %s\n", m.Region)
	if m.PublicIP != nil {
		fmt.Fprintf(&b, "Public IP:  %s\n", *m.PublicIP)
	}
	if m.PrivateIP != nil {
		fmt.Fprintf(&b, "Private IP: %s\n", *m.PrivateIP)
	}
	if reason != "" {
		fmt.Fprintf(&b, "Error:      %s\n", oneLine(reason))
	}
	to := ""
	if m.NotificationMail != nil {
		to = *m.NotificationMail
	}
	at := now
	return core.Mail{ID: core.NewUUID(), MachineID: m.ID, To: to, Subject: subject, Body: b.String(),
		Created: now, NextAt: &at}
}

// oneLine replaces line breaks so that user text cannot add header or body lines.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

// Render returns m as an RFC 5322 message from from, with CRLF line endings. Its Message-ID
// is derived from the outbox id, so a message delivered twice (a crash between the server's
// acceptance and the outbox update) can be recognised as one.
func Render(m core.Mail, from string) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	h("Date", m.Created.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.ID+"@hangar>")
	h("X-Hangar-Machine-Id", m.MachineID)
	h("MIME-Version", "1.0")
	h("Content-Type", `text/plain; charset="utf-8"`)
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
	return b.Bytes()
}
