package cmdoplocal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// One process per state database. SQLite itself lets two processes share a
// database in WAL mode, but two cmdop-local servers on one file would each
// keep their own copy of the state in memory and overwrite each other's
// rows. So the server holds an exclusive lock on FILE.lock for as long as
// the database is open, and writes there who holds it. The operating system
// drops the lock when the process exits, however it exits; the file stays
// (removing it would let a third process lock a new file while the second
// still holds the old one).

// stateLock is a held lock on a state database's lock file.
type stateLock struct{ f *os.File }

// errLocked is what tryLock returns when another process holds the lock.
var errLocked = errors.New("locked")

// lockState takes the lock of the state database at path, or says who holds it.
func lockState(path string) (*stateLock, error) {
	lockPath := path + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file of the state database %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		holder := "another process"
		if errors.Is(err, errLocked) {
			if b, rerr := io.ReadAll(io.LimitReader(f, 512)); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
				holder = strings.TrimSpace(string(b))
			}
			_ = f.Close()
			return nil, fmt.Errorf("the state database %s is in use by %s (it holds %s); stop that cmdop-local first, or pass another --state file", path, holder, lockPath)
		}
		_ = f.Close()
		return nil, fmt.Errorf("locking the state database %s (%s): %w", path, lockPath, err)
	}
	exe, _ := os.Executable()
	name := "cmdop-local"
	if exe != "" {
		name = exe
	}
	holder := fmt.Sprintf("%s, pid %d, since %s", name, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holder+"\n"), 0)
	}
	return &stateLock{f: f}, nil
}

// release drops the lock. The file keeps the last holder's line, which
// counts only while its lock is held.
func (l *stateLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops its lock
	l.f = nil
	return err
}
