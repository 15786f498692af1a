package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockName is the lock file in the data directory: one hangar serve per directory holds it,
// and it names that process's pid.
const lockName = "hangar.lock"

// dataDir prepares --data before the database is opened: it makes the directory (0700), takes
// its lock (lockDataDir: a second serve on the same directory fails naming the holder's pid,
// with SQLite or PostgreSQL alike, since the directory holds operator.key and the outbox),
// checks that it can be written, and takes group and other access off what is in it (tighten).
// The lock is released by the cleanup stack, after everything else, or by the kernel when the
// process dies.
func (c *ServeCmd) dataDir(closers *cleanup) error {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return dataErr(c.Data, err)
	}
	unlock, err := lockDataDir(c.Data)
	if err != nil {
		return err
	}
	closers.push(unlock)
	if err := probeWrite(c.Data); err != nil {
		return err
	}
	return tighten(c.Data)
}

// dataErr says that dir cannot be written when err is a read-only file system or a refused
// permission, else wraps err with the flag; it is nil for a nil err.
func dataErr(dir string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EROFS) || errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("--data %s is not writable (read-only file system or permissions): %w", dir, err)
	}
	return fmt.Errorf("--data %s: %w", dir, err)
}

// probeWrite creates and removes a file in dir: an existing lock file can be opened in a
// directory where nothing new can be made, and the database needs to make its -wal and -shm.
func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return dataErr(dir, err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		return dataErr(dir, err)
	}
	return dataErr(dir, os.Remove(name))
}

// tighten takes group and other access off the directories and regular files under dir
// (0755 becomes 0700, 0644 becomes 0600), for a data directory made by an older version or by
// hand. Symbolic links and what they point to are left alone.
func tighten(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return dataErr(dir, err)
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return dataErr(dir, err)
		}
		if mode := info.Mode().Perm(); mode&0o077 != 0 {
			if err := os.Chmod(path, mode&^0o077); err != nil {
				return dataErr(dir, err)
			}
		}
		return nil
	})
}

// lockDataDir takes an exclusive flock(2) on <dir>/hangar.lock and writes this process's pid
// into it. The kernel drops the lock when the process dies, so a lock file left by a killed
// server does not block the next start; the file itself is kept (removing it would let two
// processes lock two different files). unlock empties it and releases the lock.
func lockDataDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, dataErr(dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 64))
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := "pid unknown"
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = "pid " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("--data %s is in use by another hangar serve (%s); stop it or choose another --data", dir, holder)
		}
		return nil, fmt.Errorf("--data %s: lock %s: %w", dir, path, err)
	}
	if err := writePid(f); err != nil {
		f.Close() // releases the lock
		return nil, dataErr(dir, err)
	}
	return func() error {
		terr := f.Truncate(0)
		return errors.Join(terr, f.Close()) // closing releases the lock
	}, nil
}

// writePid replaces the lock file's content with this process's pid.
func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}
