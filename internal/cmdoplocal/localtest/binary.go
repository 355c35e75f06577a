package localtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Process is a running cmdop-local binary, with the settings it printed.
type Process struct {
	URL          string // CMDOP_API_BASE_URL
	AdminToken   string // CMDOP_TOKEN; "" when the binary does not know it
	FleetID      string // CMDOP_FLEET_ID
	ControlToken string // CMDOP_LOCAL_CONTROL_TOKEN

	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's, once done is closed
}

// exportLines is how many "export NAME=value" lines cmdop-local prints.
const exportLines = 4

// Launch starts cmd, a cmdop-local command whose Stdout is unset, with
// start (cmd.Start when nil, or the caller's own, to start it in a process
// group), and waits up to timeout for the export lines it prints.
func Launch(cmd *exec.Cmd, start func(*exec.Cmd) error, timeout time.Duration) (*Process, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if start == nil {
		start = (*exec.Cmd).Start
	}
	if err := start(cmd); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	exports := make(chan map[string]string, 1)
	var read sync.WaitGroup
	read.Add(1)
	go func() {
		defer read.Done()
		vars := map[string]string{}
		sc := bufio.NewScanner(stdout)
		for len(vars) < exportLines && sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "export "); ok {
				if k, v, ok := strings.Cut(rest, "="); ok {
					vars[k] = strings.Trim(v, "'")
				}
			}
		}
		exports <- vars
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		read.Wait() // the pipe must be drained before Wait closes it
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case vars := <-exports:
		p.URL, p.AdminToken, p.FleetID, p.ControlToken = vars["CMDOP_API_BASE_URL"], vars["CMDOP_TOKEN"], vars["CMDOP_FLEET_ID"], vars["CMDOP_LOCAL_CONTROL_TOKEN"]
		if p.URL == "" || p.FleetID == "" || p.ControlToken == "" {
			p.Kill()
			return nil, fmt.Errorf("cmdop-local printed %d of its %d export lines", len(vars), exportLines)
		}
		return p, nil
	case <-time.After(timeout):
		p.Kill()
		return nil, fmt.Errorf("cmdop-local printed no settings within %s", timeout)
	}
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Kill ends the process at once (SIGKILL, as a crash would) and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Stop asks the process to shut down (SIGINT), waits up to five seconds,
// then kills it. It returns the process's exit error, if it stopped by itself.
func (p *Process) Stop() error {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		return p.err
	case <-time.After(5 * time.Second):
		p.Kill()
		return errors.New("cmdop-local did not stop within 5s of SIGINT")
	}
}

// StartBinary runs the cmdop-local binary bin with args, and env added to
// the test's environment, until the test ends. Its standard error goes to
// stderr (nil discards it).
func StartBinary(t testing.TB, bin string, env []string, stderr io.Writer, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = stderr
	p, err := Launch(cmd, nil, 15*time.Second)
	if err != nil {
		t.Fatalf("starting %s: %v", filepath.Base(bin), err)
	}
	t.Cleanup(p.Kill)
	return p
}

// BuildBinary builds cmd/cmdop-local into a temporary directory and returns
// its path.
func BuildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cmdop-local")
	build := exec.Command("go", "build", "-o", bin, "./cmd/cmdop-local")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cmdop-local: %v\n%s", err, out)
	}
	return bin
}

// Tail is an io.Writer that keeps the last 8 KiB written to it, such as a
// process's standard error, for a failure message.
type Tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (w *Tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - tailSize; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *Tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
