//go:build !unix

package provider

import "os/exec"

// ownProcessGroup: elsewhere, a timeout stops the command itself (and
// WaitDelay the wait for what it started).
func ownProcessGroup(*exec.Cmd) {}
