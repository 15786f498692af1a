package cli_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hangar/client"
	"hangar/internal/cli"
)

// writeKey writes an operator.key holding key (with a trailing newline) into dir.
func writeKey(t *testing.T, dir, key string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, cli.KeyFile), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigSources(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string // set after setup; "" unsets
		keyDir  string            // relative to the working dir; "" writes no key file
		args    []string
		wantKey string
		json    bool
	}{
		{name: "env key", wantKey: "envkey"},
		{name: "flag beats env", args: []string{"--api-key", "flagkey"}, wantKey: "flagkey"},
		{name: "default key file", env: map[string]string{"HANGAR_API_KEY": ""}, keyDir: "hangar-data",
			wantKey: "filekey"},
		{name: "HANGAR_DATA key file", env: map[string]string{"HANGAR_API_KEY": "", "HANGAR_DATA": "elsewhere"},
			keyDir: "elsewhere", wantKey: "filekey"},
		{name: "--data key file", env: map[string]string{"HANGAR_API_KEY": ""}, keyDir: "d2",
			args: []string{"--data", "d2"}, wantKey: "filekey"},
		{name: "env key beats key file", keyDir: "hangar-data", wantKey: "envkey"},
		{name: "HANGAR_OUTPUT", env: map[string]string{"HANGAR_OUTPUT": "json"}, wantKey: "envkey", json: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			b.replies["GET /hangar/v1/teams"] = "[]"
			dir := t.TempDir()
			t.Chdir(dir)
			for k, v := range tt.env {
				if v == "" {
					unsetenv(t, k)
				} else {
					t.Setenv(k, v)
				}
			}
			if tt.keyDir != "" {
				writeKey(t, tt.keyDir, "filekey")
			}
			res := b.run(t, append([]string{"admin", "teams", "list"}, tt.args...)...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
			}
			if got := b.last(t).Key; got != tt.wantKey {
				t.Errorf("x-api-key = %q, want %q", got, tt.wantKey)
			}
			if tt.json && res.stdout != "[]\n" {
				t.Errorf("stdout = %q, want []", res.stdout)
			}
		})
	}
}

func TestURL(t *testing.T) {
	b := setup(t)
	b.replies["GET /hangar/v1/teams"] = "[]"
	t.Setenv("HANGAR_URL", "http://127.0.0.1:1") // nothing listens there
	if res := b.run(t, "admin", "teams", "list", "--url", b.url+"/"); res.code != 0 {
		t.Fatalf("--url: exit %d, stderr %q", res.code, res.stderr)
	}
	res := b.run(t, "admin", "teams", "list")
	if res.code != 1 || !strings.HasPrefix(res.stderr, "hangar: ") || res.stdout != "" {
		t.Errorf("HANGAR_URL to a closed port: %+v", res)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		reply  string
		args   []string
		env    map[string]string
		stderr string
		noCall bool
		code   int // 0 means 1
	}{
		{name: "api error", status: 404,
			reply:  `{"error":{"name":"Error","message":"team te9 not found","status":404}}`,
			args:   []string{"users", "list", "--team", "te9"},
			stderr: "hangar: team te9 not found (HTTP 404)\n"},
		{name: "api error json", status: 400,
			reply:  `{"error":{"name":"Error","message":"cidr overlaps n1","status":400}}`,
			args:   []string{"networks", "create", "--team", "te1", "--name", "n", "--region", "r", "--cidr", "10.0.0.0/8", "-o", "json"},
			stderr: "hangar: cidr overlaps n1 (HTTP 400)\n"},
		{name: "bare status", status: 401, args: []string{"teams", "list", "-o", "json"},
			stderr: "hangar: Unauthorized (HTTP 401)\n"},
		{name: "no key", env: map[string]string{"HANGAR_API_KEY": ""}, args: []string{"teams", "list"},
			stderr: "hangar: no API key: pass --api-key, set HANGAR_API_KEY, or point --data/HANGAR_DATA at the server's data directory (hangar-data/operator.key does not exist)\n",
			noCall: true},
		{name: "image and kernel", code: 80, args: []string{"templates", "create", "--name", "n", "--os", "o", "--image", "a",
			"--kernel", "b", "--initrd", "c"}, noCall: true},
		{name: "kernel without initrd", code: 80, args: []string{"templates", "create", "--name", "n", "--os", "o",
			"--kernel", "b"}, noCall: true},
		{name: "missing required", code: 80, args: []string{"teams", "create"}, noCall: true},
		{name: "bad capacity", code: 80, args: []string{"hosts", "create", "--name", "h", "--region", "r",
			"--capacity", "C1=many"}, noCall: true},
		{name: "bad output", code: 80, args: []string{"teams", "list", "-o", "yaml"}, noCall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			t.Chdir(t.TempDir())
			b.status, b.replies["*"] = tt.status, tt.reply
			for k, v := range tt.env {
				if v == "" {
					unsetenv(t, k)
				} else {
					t.Setenv(k, v)
				}
			}
			res := b.run(t, append([]string{"admin"}, tt.args...)...)
			want := tt.code
			if want == 0 {
				want = 1
			}
			if res.code != want {
				t.Errorf("exit = %d, want %d (stderr %q)", res.code, want, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want empty", res.stdout)
			}
			if tt.stderr != "" && res.stderr != tt.stderr {
				t.Errorf("stderr\n got %q\nwant %q", res.stderr, tt.stderr)
			}
			if !strings.HasPrefix(res.stderr, "hangar: ") {
				t.Errorf("stderr = %q, want a hangar: line", res.stderr)
			}
			if tt.noCall && len(b.seen) != 0 {
				t.Errorf("server saw %d requests, want none", len(b.seen))
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("x"), 1},
		{fmt.Errorf("wrapped: %w", &client.Error{Status: 500, Message: "x"}), 1},
		{exitErr(3), 3},
	}
	for _, tt := range tests {
		if got := cli.ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

type exitErr int

func (e exitErr) Error() string { return fmt.Sprintf("exit %d", int(e)) }
func (e exitErr) ExitCode() int { return int(e) }

func TestHelpListsEnv(t *testing.T) {
	b := setup(t)
	res := b.runHelp(t, "admin", "--help")
	for _, want := range []string{"HANGAR_URL", "HANGAR_API_KEY", "HANGAR_DATA", "HANGAR_OUTPUT", "teams", "sim"} {
		if !strings.Contains(res, want) {
			t.Errorf("admin --help lacks %q:\n%s", want, res)
		}
	}
}
