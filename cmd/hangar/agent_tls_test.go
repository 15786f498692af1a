package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hangar test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestAgentJoinsOverPinnedTLS serves the control plane with a self-signed certificate: its
// join tokens carry the certificate's pin, an agent joins over https with no CA and keeps the
// pin for its restart, and a token whose pin names another key is refused before anything
// is sent.
func TestAgentJoinsOverPinnedTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data := t.TempDir()
	cert, key := selfSigned(t, t.TempDir())
	cp := agentCP(t, data, "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	url := strings.Replace(cp.url, "http://", "https://", 1)
	ts := &testServer{URL: url, Key: readKey(t, data), client: trusting(t, cert)}
	tok := joinToken(t, ts, ny2, "10m")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[2]) != 64 {
		t.Fatalf("a token of a TLS control plane carries no pin: %q", tok)
	}
	wrong := parts[0] + "." + parts[1] + "." + strings.Repeat("0", 64)
	code, out := startAgent(t, url, wrong, t.TempDir(), "mitm").exit(t, 20*time.Second)
	if code == 0 || !strings.Contains(out, "does not match the pin") {
		t.Fatalf("a token with another pin: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	a := startAgent(t, url, tok, dir, "tls-host")
	waitHost(t, ts, "tls-host", "up", 20*time.Second)
	a.kill9(t)
	startAgent(t, url, "", dir, "tls-host") // the pin comes from agent.json now
	if h := waitHost(t, ts, "tls-host", "up", 20*time.Second); h.Agent == nil {
		t.Fatalf("host %+v", h)
	}
}

// trusting is an HTTP client that trusts the certificate in file cert.
func trusting(t *testing.T, cert string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no certificate in " + cert)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}
