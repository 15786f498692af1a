package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tryServe parses a serve on data with extra flags and starts it, returning the start's error
// and output; a server that starts is stopped when the test ends.
func tryServe(t *testing.T, data string, extra ...string) (*server, *syncBuffer, error) {
	t.Helper()
	return startArgs(t, t.Context(), append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--sync", "normal",
		"--sim-time-scale", "0.01", "--log-level", "warn"}, extra...)...)
}

// mustRefuse checks that a serve on data fails with an error containing want, without opening
// a database (its --database, in a directory of its own, is not created) or an account.
func mustRefuse(t *testing.T, data, want string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "second.db")
	srv, out, err := tryServe(t, data, "--database", db)
	if err == nil {
		srv.stop()
		_ = srv.wait()
		t.Fatalf("a serve started on %s", data)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused serve opened its database (stat: %v)", err)
	}
	if strings.Contains(out.String(), "Created the operator account") {
		t.Fatalf("the refused serve created an operator account:\n%s", out)
	}
}

func inUse(data string, pid int) string {
	return "--data " + data + " is in use by another hangar serve (pid " + strconv.Itoa(pid) + "); stop it or choose another --data"
}

// TestServeDataDirLocked: a second serve on a data directory in use fails naming the holder's
// pid and leaves the lock file as it was; once the first has stopped, a new one starts.
func TestServeDataDirLocked(t *testing.T) {
	data := t.TempDir()
	first, out, err := tryServe(t, data)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	lock := filepath.Join(data, lockName)
	if b, err := os.ReadFile(lock); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file %q (%v), want this process's pid %d", b, err, os.Getpid())
	}
	mustRefuse(t, data, inUse(data, os.Getpid()))
	if b, _ := os.ReadFile(lock); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("the refused serve changed the lock file to %q", b)
	}
	first.stop()
	if err := first.wait(); err != nil {
		t.Fatal(err)
	}
	ts := startServerIn(t, data)
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, nil); st != 200 {
		t.Fatalf("teams after the first stopped: %d", st)
	}
}

// TestServeDataDirStaleLock: the lock of a serve killed with SIGKILL goes with it (the next
// start takes the directory though the lock file names the dead pid), and a lock file naming a
// pid that holds nothing does not block either.
func TestServeDataDirStaleLock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real hangar process")
	}
	data := t.TempDir()
	p := startProc(t, data)
	mustRefuse(t, data, inUse(data, p.cmd.Process.Pid))
	p.kill9(t)
	ts := startServerIn(t, data)
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, nil); st != 200 {
		t.Fatalf("teams after the kill: %d", st)
	}

	bogus := t.TempDir()
	if err := os.WriteFile(filepath.Join(bogus, lockName), []byte("999999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startServerIn(t, bogus)
	if b, _ := os.ReadFile(filepath.Join(bogus, lockName)); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file %q, want this process's pid", b)
	}
}

// TestServeDataDirModes: what a serve makes in its data directory is the owner's only (the
// SQLite -wal and -shm included), and a start on a directory left open to others (0755, files
// 0644) takes that access away.
func TestServeDataDirModes(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	check := func(when string) {
		t.Helper()
		seen := map[string]bool{}
		err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if info.Mode().Perm() != want {
				t.Errorf("%s: %s is %v, want %v", when, path, info.Mode().Perm(), want)
			}
			seen[d.Name()] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"data", "hangar.db", "hangar.db-wal", "hangar.db-shm", "operator.key", lockName} {
			if !seen[name] {
				t.Errorf("%s: no %s in the data directory", when, name)
			}
		}
	}
	first, out, err := tryServe(t, data)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	check("first start")
	first.stop()
	if err := first.wait(); err != nil {
		t.Fatal(err)
	}

	outbox := filepath.Join(data, "outbox")
	if err := os.MkdirAll(outbox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outbox, "m.eml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(path, mode)
	}); err != nil {
		t.Fatal(err)
	}
	startServerIn(t, data)
	check("start on a loose directory")
}

// TestServeDataDirReadOnly: a data directory where nothing can be created fails the start
// with a message that says so, whether the directory exists (with or without a lock file
// from an earlier start) or has to be made. As root, which permission bits do not stop, the
// directory is made immutable (chattr +i) instead of 0500.
func TestServeDataDirReadOnly(t *testing.T) {
	parent := t.TempDir()
	empty := filepath.Join(parent, "empty")
	used := filepath.Join(parent, "used")
	for _, dir := range []string{empty, used} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(used, lockName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{empty, used} {
		readOnly(t, dir)
	}
	readOnly(t, parent)
	for _, data := range []string{empty, used, filepath.Join(parent, "new")} {
		mustRefuse(t, data, "--data "+data+" is not writable (read-only file system or permissions): ")
	}
}

// readOnly makes dir one where nothing can be created until the test ends.
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("as root, chattr +i is needed to make a read-only directory: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v %s", dir, err, out)
		}
	})
}
