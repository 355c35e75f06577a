package provider_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// A page may assume a machine that the test is not: one with gh, aws,
// vault and kubectl installed, or with ~/.config/cmdop. An exampleHook
// gives one example directory that machine, and nothing else: its
// stand-in commands first on PATH, a temporary HOME, and the environment
// the page tells its reader to set. Every directory that has no hook runs
// with the test's own environment.
type exampleHook struct {
	// standIns are put first on PATH. Each is the test binary
	// (standInEnv makes TestMain run runStandIn): it records its argv,
	// its standard input and the token-shaped values in its environment
	// (standInRecord), and exits 0. kubectl's `create … --dry-run=client
	// -o yaml` also prints the manifest, for the `kubectl apply -f -` that
	// reads it.
	standIns []string
	// homeDirs are created under a temporary HOME, which the run uses.
	homeDirs []string
	// env holds "KEY=value" entries; "{repo}" stands for the repository root.
	env []string
}

// exampleHooks, by example directory.
var exampleHooks = map[string]exampleHook{
	"examples/guides/keeping-secrets-out-of-state": {
		standIns: []string{"gh", "aws", "vault", "kubectl"},
		homeDirs: []string{".config/cmdop"},
	},
	// The guide says: the platform team's file applies to every pipeline,
	// and each example meets it as well as its own block.
	"examples/guides/token-policy/ci-fleet": {env: []string{"CMDOP_TOKEN_POLICY_FILE={repo}/examples/guides/token-policy/token-policy.json"}},
	"examples/guides/token-policy/personal": {env: []string{"CMDOP_TOKEN_POLICY_FILE={repo}/examples/guides/token-policy/token-policy.json"}},
}

// exampleSink is where a page says a token's secret lands through
// secret_delivery: a stand-in command, or a file under HOME.
type exampleSink struct {
	command string // the stand-in that receives the secret on standard input
	file    string // or the file, "~/…"
	// content is exactly what the sink receives, %s standing for the secret.
	content string
	// args are the arguments of the stand-in run that receives the secret;
	// nil: the state's secret_delivery.command after its first element.
	args []string
	// sha256Output names an output that the page says is secret_sha256.
	sha256Output string
}

// standInEnv names the directory where the stand-ins record their runs.
const standInEnv = "CMDOP_TEST_STANDIN_RECORDS"

// standInRecord is one run of a stand-in command.
type standInRecord struct {
	Name      string   `json:"name"`
	Args      []string `json:"args"`
	Stdin     string   `json:"stdin"`
	EnvTokens []string `json:"env_tokens"` // token-shaped values in its environment
}

func runStandIn() int {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading stdin:", err)
		return 90
	}
	environ, _ := os.ReadFile("/proc/self/environ")
	rec := standInRecord{
		Name:      filepath.Base(os.Args[0]),
		Args:      os.Args[1:],
		Stdin:     string(in),
		EnvTokens: cmdopapi.SecretPattern.FindAllString(string(environ), -1),
	}
	b, _ := json.Marshal(rec)
	f, err := os.CreateTemp(os.Getenv(standInEnv), rec.Name+"-*.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, "recording:", err)
		return 92
	}
	_, _ = f.Write(b)
	_ = f.Close()
	if rec.Name == "kubectl" && slices.Contains(rec.Args, "--dry-run=client") {
		name := ""
		if i := slices.Index(rec.Args, "generic"); i >= 0 && i+1 < len(rec.Args) {
			name = rec.Args[i+1]
		}
		fmt.Printf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ndata:\n  token: %s\n", name, base64.StdEncoding.EncodeToString(in))
	}
	return 0
}

// exampleMachine is what a hook set up for one run.
type exampleMachine struct {
	home, records string
}

// prepare sets up the hook's machine for run, in a temporary directory.
func (h exampleHook) prepare(t *testing.T, run *cliRun) exampleMachine {
	t.Helper()
	var m exampleMachine
	tmp := t.TempDir()
	if len(h.standIns) > 0 {
		bin := filepath.Join(tmp, "bin")
		m.records = filepath.Join(tmp, "records")
		for _, d := range []string{bin, m.records} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range h.standIns {
			if err := os.Symlink(sinkBinary(t), filepath.Join(bin, name)); err != nil {
				t.Fatal(err)
			}
		}
		run.env = append(run.env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), standInEnv+"="+m.records)
	}
	if len(h.homeDirs) > 0 {
		m.home = filepath.Join(tmp, "home")
		for _, d := range h.homeDirs {
			if err := os.MkdirAll(filepath.Join(m.home, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		run.env = append(run.env, "HOME="+m.home)
	}
	for _, e := range h.env {
		run.env = append(run.env, strings.ReplaceAll(e, "{repo}", localtest.RepoRoot()))
	}
	return m
}

// standInRecords reads every run of the stand-ins.
func (m exampleMachine) standInRecords(t *testing.T) []standInRecord {
	t.Helper()
	if m.records == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(m.records, "*.json"))
	var out []standInRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r standInRecord
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("a stand-in record is not JSON: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// checkDeliveries checks the page's secret_delivery promise: each sink
// received exactly one secret, and exactly as the page says; its SHA-256 is
// the state's secret_sha256; it works (who-am-I); the state holds no
// secret; no stand-in saw a secret in its argv or environment, and none
// received a secret that no sink claims. It returns the secrets by
// resource address.
func checkDeliveries(t *testing.T, api *testAPI, run *cliRun, m exampleMachine, sinks map[string]exampleSink) map[string]string {
	t.Helper()
	secrets := map[string]string{}
	if len(sinks) == 0 {
		return secrets
	}
	records := m.standInRecords(t)
	claimed := 0
	state := run.must("state", "pull")
	var outputs map[string]struct{ Value any }
	if err := json.Unmarshal([]byte(run.must("output", "-json")), &outputs); err != nil {
		t.Fatal(err)
	}
	for addr, sink := range sinks {
		values := stateOf(t, run, addr)
		if values == nil {
			t.Errorf("the page promises %s; the state has none", addr)
			continue
		}
		if values["secret"] != nil {
			t.Errorf("%s: the state holds its secret; with secret_delivery it must be null", addr)
		}
		var got []string // what the sink received, each holding secrets
		var args []string
		if sink.command != "" {
			claimed++
			for _, r := range records {
				if r.Name == sink.command && cmdopapi.SecretPattern.MatchString(r.Stdin) {
					got = append(got, r.Stdin)
					args = r.Args
				}
			}
		} else {
			b, err := os.ReadFile(filepath.Join(m.home, strings.TrimPrefix(sink.file, "~/")))
			if err != nil {
				t.Errorf("%s: the page's file %s: %v", addr, sink.file, err)
				continue
			}
			got = []string{string(b)}
		}
		where := sink.command + sink.file
		if len(got) != 1 {
			t.Errorf("%s: %s received a secret %d times, want once", addr, where, len(got))
			continue
		}
		found := cmdopapi.SecretPattern.FindAllString(got[0], -1)
		if len(found) != 1 {
			t.Errorf("%s: %s received %d secrets, want exactly one", addr, where, len(found))
			continue
		}
		secret := found[0]
		secrets[addr] = secret
		if got[0] != fmt.Sprintf(sink.content, secret) {
			t.Errorf("%s: %s received %q (the secret masked), want %q", addr, where, strings.ReplaceAll(got[0], secret, "<secret>"), fmt.Sprintf(sink.content, "<secret>"))
		}
		if sink.command != "" {
			want := sink.args
			if want == nil {
				block, _ := values["secret_delivery"].(map[string]any)
				argv, _ := block["command"].([]any)
				for _, a := range argv[min(1, len(argv)):] {
					want = append(want, str(a))
				}
			}
			if !slices.Equal(args, want) {
				t.Errorf("%s: %s ran with the arguments %q, want %q", addr, where, args, want)
			}
		}
		if sum := str(values["secret_sha256"]); sum == "" || sum != sha256Hex(secret) {
			t.Errorf("%s: secret_sha256 %q is not the SHA-256 of what %s received", addr, sum, where)
		}
		if sink.sha256Output != "" {
			if o, ok := outputs[sink.sha256Output]; !ok || o.Value != sha256Hex(secret) {
				t.Errorf("%s: the output %s is %v, not the SHA-256 of what %s received", addr, sink.sha256Output, o.Value, where)
			}
		}
		if err := secretWorks(api.URL, secret); err != nil {
			t.Errorf("%s: the secret that %s received does not work: %v", addr, where, err)
		}
		if strings.Contains(state, secret) {
			t.Errorf("%s: the state holds the secret that %s received", addr, where)
		}
	}
	withSecrets := 0
	for _, r := range records {
		if cmdopapi.SecretPattern.MatchString(r.Stdin) {
			withSecrets++
		}
		for addr, secret := range secrets {
			if slices.Contains(r.EnvTokens, secret) || strings.Contains(strings.Join(r.Args, " "), secret) {
				t.Errorf("the stand-in %s found the secret of %s in its argv or environment", r.Name, addr)
			}
		}
	}
	if withSecrets != claimed {
		t.Errorf("the stand-ins received a secret %d times; the page promises %d command deliveries", withSecrets, claimed)
	}
	return secrets
}

// checkDeliveredRevoked: after the destroy, every delivered secret is
// refused. A token destroyed with a revoke_grace_period had its expiry
// shortened instead: the API's clock is moved past the latest such expiry
// first, and only then are the secrets tried.
func checkDeliveredRevoked(t *testing.T, api *testAPI, managed map[string]string, secrets map[string]string) {
	t.Helper()
	if len(secrets) == 0 {
		return
	}
	now := api.srv.Now()
	var last time.Time
	for id, fleet := range managed {
		if _, err := firstEvent(api, cmdopapi.ActionTokenExpiryShortened, id); err != nil {
			continue // revoked at once (checkExampleTokens)
		}
		tok := api.token(fleet, id)
		if tok.Status == cmdopapi.StatusActive && tok.ExpiresAt != nil && tok.ExpiresAt.After(last) {
			last = *tok.ExpiresAt
		}
	}
	if last.After(now) {
		api.advance(last.Sub(now) + time.Minute)
	}
	for addr, secret := range secrets {
		if err := secretRejected(api.URL, secret); err != nil {
			t.Errorf("%s, after the destroy (and its grace period): %v", addr, err)
		}
	}
}
