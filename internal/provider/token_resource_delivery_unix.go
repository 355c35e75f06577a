//go:build unix

package provider

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup runs the delivery command in a process group of its own,
// so that a timeout stops the programs it started too, not only itself.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
