//go:build !unix && !windows

package cmdoplocal

import "os"

// tryLock is a no-op where there is no file lock to take.
func tryLock(*os.File) error { return nil }
