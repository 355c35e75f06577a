package provider_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// Docs that run (make examples-test, and every acceptance suite of make
// test): every configuration under examples/, and every HCL block of
// docs/guides that is not one of those files, is applied against its own
// cmdop-local on the CLI of the suite, planned again (exit 0: a stable
// configuration), and destroyed. Through the API, after each command:
//   - every token in the state is active, and revoked after the destroy;
//   - no other token that the run issued is left active (an ephemeral
//     token that was never closed, say).
//
// A file runs on the CLIs that it claims in its comments: "Terraform 1.10+"
// (or "Terraform 1.10 or later") sets the lowest Terraform, "OpenTofu 1.11+"
// the lowest OpenTofu; a file that names a Terraform version and no OpenTofu
// one claims no OpenTofu. A file that claims nothing runs everywhere
// (Terraform 1.5+, OpenTofu). So a page whose blocks need a newer CLI than it
// says fails here. A directory's files are one configuration; the files that
// the CLI does not support are left out of it, as the page tells its
// readers. Values that a page leaves to its reader come from
// examples/cmdop-local.tfvars (-var-file), secrets from the environment that
// cmdop-local prints.

// exampleVarsFile is the one documented variables file.
const exampleVarsFile = "examples/cmdop-local.tfvars"

// stagingFleetID is the second fleet the examples name through
// var.staging_fleet_id (examples/cmdop-local.tfvars).
const stagingFleetID = "3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10"

// exampleUnit is one configuration to run.
type exampleUnit struct {
	name  string
	files map[string]string
	// planExit is the exit code the page documents for the second plan
	// (0 unless it says otherwise).
	planExit int
}

// Directories whose files are alternatives, each run on its own with the
// others: the two import examples import the same resource, from literal
// IDs that only the reader's API has, so they are validated
// (make validate-examples) but not applied.
var exampleSkipFiles = map[string]string{
	"import-by-string-id.tf": "imports a token ID that only the reader's API has (make validate-examples checks it)",
	"import-by-identity.tf":  "imports a token ID that only the reader's API has (make validate-examples checks it)",
}

// examplePromise is what a page says its configuration does, checked
// through the API on top of the checks every example gets.
type examplePromise struct {
	// issued: how many tokens of each resource type the apply issues (and
	// the destroy revokes).
	issued map[string]int
	// ephemeral: the names of the ephemeral tokens the run issues; each
	// must have been issued and, once every command has exited, revoked.
	ephemeral []string
	// delivered: where each token resource's secret_delivery puts its
	// secret (by resource address). Each sink must receive exactly that
	// one working secret, whose SHA-256 is the state's secret_sha256, and
	// the state none; after the destroy, each secret is refused.
	delivered map[string]exampleSink
}

// examplePromises, by example directory (and exampleHooks, in
// docs_examples_hooks_test.go, for the machine a page assumes). A page that is not listed gets
// the checks every example gets.
var examplePromises = map[string]examplePromise{
	"examples/quickstart":                               {issued: map[string]int{"cmdop_fleet_token": 1, "cmdop_personal_token": 1}},
	"examples/resources/cmdop_fleet_token":              {issued: map[string]int{"cmdop_fleet_token": 2}},
	"examples/resources/cmdop_personal_token":           {issued: map[string]int{"cmdop_personal_token": 1}},
	"examples/guides/rotating-tokens":                   {issued: map[string]int{"cmdop_fleet_token": 4}},
	"examples/guides/secrets-and-state":                 {issued: map[string]int{"cmdop_fleet_token": 1}},
	"examples/rotation-recipe":                          {issued: map[string]int{"cmdop_fleet_token": 1}},
	"examples/ephemeral-resources/cmdop_fleet_token":    {ephemeral: []string{"terraform-auditor"}},
	"examples/ephemeral-resources/cmdop_personal_token": {ephemeral: []string{"terraform-reader"}},
	"examples/guides/token-policy/ci-fleet":             {issued: map[string]int{"cmdop_fleet_token": 1}},
	"examples/guides/token-policy/personal":             {issued: map[string]int{"cmdop_personal_token": 1}},
	"examples/guides/keeping-secrets-out-of-state": {
		issued: map[string]int{"cmdop_fleet_token": 4, "cmdop_personal_token": 1},
		delivered: map[string]exampleSink{
			"cmdop_fleet_token.deploy": {command: "gh", content: "%s\n"},
			"cmdop_fleet_token.lambda": {command: "aws", content: "%s\n"},
			"cmdop_fleet_token.batch":  {command: "vault", content: "%s\n"},
			// sh -c 'tr -d '\n' | kubectl create … | kubectl apply -f -':
			// kubectl gets the secret without its newline.
			"cmdop_fleet_token.operator": {command: "kubectl", content: "%s", args: []string{
				"create", "secret", "generic", "cmdop-token", "--namespace", "agents",
				"--from-file=token=/dev/stdin", "--dry-run=client", "-o", "yaml",
			}},
			"cmdop_personal_token.laptop": {file: "~/.config/cmdop/laptop.env", content: "CMDOP_TOKEN=%s\n", sha256Output: "laptop_token_sha256"},
		},
	},
}

// exampleUnits collects every configuration under examples/ and every HCL
// block of docs/guides/*.md that none of them holds.
func exampleUnits(t *testing.T) []exampleUnit {
	t.Helper()
	root := localtest.RepoRoot()
	byDir := map[string]map[string]string{}
	known := map[string]bool{} // every example file's content, trimmed
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".tf") && !strings.HasSuffix(name, ".tfquery.hcl") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		known[strings.TrimSpace(string(b))] = true
		if _, skip := exampleSkipFiles[name]; skip {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		if byDir[rel] == nil {
			byDir[rel] = map[string]string{}
		}
		byDir[rel][name] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var units []exampleUnit
	for dir, files := range byDir {
		units = append(units, exampleUnit{name: dir, files: files})
	}
	guides, _ := filepath.Glob(filepath.Join(root, "docs", "guides", "*.md"))
	block := regexp.MustCompile("(?ms)^```(?:terraform|hcl)\\n(.*?)^```")
	for _, g := range guides {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllStringSubmatch(string(b), -1) {
			if known[strings.TrimSpace(m[1])] {
				continue
			}
			rel, _ := filepath.Rel(root, g)
			units = append(units, exampleUnit{name: fmt.Sprintf("%s#block%d", rel, i+1), files: map[string]string{"main.tf": m[1]}})
		}
	}
	sort.Slice(units, func(i, j int) bool { return units[i].name < units[j].name })
	return units
}

// cliClaim is what a file says it needs.
type cliClaim struct {
	terraformMinor int // lowest Terraform 1.x
	tofuMinor      int // lowest OpenTofu 1.x; -1: not OpenTofu
}

var (
	claimTerraform = regexp.MustCompile(`Terraform 1\.(\d+)(?:\.\d+)?(?:\+| or later)`)
	claimTofu      = regexp.MustCompile(`OpenTofu 1\.(\d+)(?:\.\d+)?(?:\+| or later)`)
)

// claimOf reads a file's claim from its comments.
func claimOf(content string) cliClaim {
	var comments []string
	for _, line := range strings.Split(content, "\n") {
		l := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(l, "#"); ok {
			comments = append(comments, strings.TrimSpace(rest))
		} else if rest, ok := strings.CutPrefix(l, "//"); ok {
			comments = append(comments, strings.TrimSpace(rest))
		}
	}
	text := strings.Join(comments, " ")
	c := cliClaim{terraformMinor: 5, tofuMinor: 0}
	tf := claimTerraform.FindStringSubmatch(text)
	if tf != nil {
		c.terraformMinor, _ = strconv.Atoi(tf[1])
		c.tofuMinor = -1
	}
	if m := claimTofu.FindStringSubmatch(text); m != nil {
		c.tofuMinor, _ = strconv.Atoi(m[1])
	}
	return c
}

// theCLI is the CLI of this suite.
type theCLI struct {
	tofu  bool
	minor int
	label string
}

func currentCLI(t *testing.T) theCLI {
	t.Helper()
	version, _, minor := cliVersion(t)
	tofu := cliIsOpenTofu()
	label := "Terraform " + version
	if tofu {
		label = "OpenTofu " + version
	}
	return theCLI{tofu: tofu, minor: minor, label: label}
}

func (c theCLI) supports(claim cliClaim) bool {
	if c.tofu {
		return claim.tofuMinor >= 0 && c.minor >= claim.tofuMinor
	}
	return c.minor >= claim.terraformMinor
}

func TestAccExamples(t *testing.T) {
	t.Parallel()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make examples-test)")
	}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Skip("TF_ACC_TERRAFORM_PATH is not set; run through make examples-test")
	}
	cli := currentCLI(t)
	varsFile := filepath.Join(localtest.RepoRoot(), exampleVarsFile)
	if !fileExists(varsFile) {
		t.Fatalf("%s is missing", exampleVarsFile)
	}
	for _, u := range exampleUnits(t) {
		t.Run(u.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{}
			var left []string
			for name, content := range u.files {
				if cli.supports(claimOf(content)) {
					files[name] = content
				} else {
					left = append(left, name)
				}
			}
			if len(files) == 0 {
				t.Skipf("no file of %s claims %s", u.name, cli.label)
			}
			if len(left) > 0 {
				t.Logf("left out on %s, as their comments say: %s", cli.label, strings.Join(left, ", "))
			}
			runExample(t, u, files, varsFile)
		})
	}
}

func runExample(t *testing.T, u exampleUnit, files map[string]string, varsFile string) {
	api := newTestAPI(t)
	if _, err := api.srv.AddFleet(stagingFleetID); err != nil {
		t.Fatal(err)
	}
	own := false
	hasTF, needsInit := false, false
	for name, content := range files {
		if strings.Contains(content, "required_providers") {
			own = true
		}
		if strings.HasSuffix(name, ".tf") {
			hasTF = true
		}
		if strings.Contains(content, "hashicorp/") {
			needsInit = true
		}
	}
	if _, ok := files["versions.tf"]; own && !ok {
		files["versions.tf"] = "" // the page declares its own providers
	}
	if !hasTF { // a .tfquery.hcl file lives beside the configuration that holds the provider block
		files["zz_provider.tf"] = "provider \"cmdop\" {}\n"
	}
	baseline := map[string]bool{}
	for _, fleet := range []string{"", api.FleetID(), stagingFleetID} {
		for id := range api.activeTokens(fleet) {
			baseline[id] = true
		}
	}
	run := newCLIRun(t, api, files)
	run.env = append(run.env, "TF_VAR_staging_admin_token="+api.secret)
	machine := exampleHooks[u.name].prepare(t, run)
	vars := "-var-file=" + varsFile
	if needsInit {
		if !fileExists(filepath.Join(localtest.RepoRoot(), "bin", "mirror")) {
			t.Skip("needs hashicorp/time from bin/mirror: run make tools")
		}
		run.must("init", "-input=false", "-no-color")
	}
	hasQuery := false
	for name := range files {
		if strings.HasSuffix(name, ".tfquery.hcl") {
			hasQuery = true
		}
	}
	if hasQuery {
		if out, err := run.run("query", "-no-color", vars); err != nil {
			t.Fatalf("terraform query: %v\n%s", err, out)
		}
	}
	if out, err := run.run("apply", "-auto-approve", "-input=false", "-no-color", vars); err != nil {
		t.Fatalf("terraform apply: %v\n%s", err, out)
	}
	managed, byType := exampleStateTokens(t, run)
	checkExampleTokens(t, api, "apply", baseline, managed, true)
	promise, promised := examplePromises[u.name]
	secrets := checkDeliveries(t, api, run, machine, promise.delivered)
	if promised && promise.issued != nil {
		for typ, want := range promise.issued {
			if byType[typ] != want {
				t.Errorf("the page promises %d %s after the apply; the state holds %d", want, typ, byType[typ])
			}
		}
		for typ, n := range byType {
			if _, ok := promise.issued[typ]; !ok {
				t.Errorf("the state holds %d %s, which the page does not promise", n, typ)
			}
		}
	}

	out, err := run.run("plan", "-detailed-exitcode", "-input=false", "-no-color", vars)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != u.planExit {
		t.Errorf("the plan after apply exited %d, want %d (a stable configuration):\n%s", code, u.planExit, out)
	}
	checkExampleTokens(t, api, "the second plan", baseline, managed, true)

	if out, err := run.run("destroy", "-auto-approve", "-input=false", "-no-color", vars); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
	checkExampleTokens(t, api, "destroy", baseline, managed, false)
	checkDeliveredRevoked(t, api, managed, secrets)
	for _, name := range promise.ephemeral {
		var toks []cmdopapi.Token
		for _, fleet := range []string{"", api.FleetID(), stagingFleetID} {
			toks = append(toks, api.tokensNamed(fleet, name)...)
		}
		if len(toks) == 0 {
			t.Errorf("the page promises an ephemeral token named %q; the API never issued one", name)
		}
		for _, tok := range toks {
			if tok.Status != cmdopapi.StatusRevoked {
				t.Errorf("ephemeral token %s (%q) is %s after the run, want revoked", tok.ID, name, tok.Status)
			}
		}
	}
}

// exampleStateTokens lists the tokens in the state (ID → collection), and
// counts them by resource type.
func exampleStateTokens(t *testing.T, run *cliRun) (map[string]string, map[string]int) {
	t.Helper()
	out := run.must("show", "-json")
	var st struct {
		Values struct {
			Root exampleModule `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
		t.Fatalf("parsing terraform show -json: %v", err)
	}
	toks := map[string]string{}
	byType := map[string]int{}
	st.Values.Root.collect(toks, byType)
	return toks, byType
}

type exampleModule struct {
	Resources []struct {
		Type   string         `json:"type"`
		Mode   string         `json:"mode"`
		Values map[string]any `json:"values"`
	} `json:"resources"`
	Children []exampleModule `json:"child_modules"`
}

func (m exampleModule) collect(toks map[string]string, byType map[string]int) {
	for _, r := range m.Resources {
		if r.Mode != "managed" || (r.Type != "cmdop_fleet_token" && r.Type != "cmdop_personal_token") {
			continue
		}
		id, _ := r.Values["id"].(string)
		fleet, _ := r.Values["fleet_id"].(string)
		toks[id] = fleet
		byType[r.Type]++
	}
	for _, c := range m.Children {
		c.collect(toks, byType)
	}
}

// checkExampleTokens: the state's tokens are active (or, after destroy,
// not), and no other token the run issued is active.
func checkExampleTokens(t *testing.T, api *testAPI, after string, baseline map[string]bool, managed map[string]string, wantActive bool) {
	t.Helper()
	active := map[string]cmdopapi.Token{}
	for _, fleet := range []string{"", api.FleetID(), stagingFleetID} {
		for id, tok := range api.activeTokens(fleet) {
			active[id] = tok
		}
	}
	for id := range managed {
		_, ok := active[id]
		if ok && !wantActive {
			// Destroyed with a revoke_grace_period: its expiry was shortened
			// instead, and it expires by itself.
			if _, err := firstEvent(api, cmdopapi.ActionTokenExpiryShortened, id); err == nil {
				continue
			}
		}
		if ok != wantActive {
			state := "active"
			if !ok {
				state = "not active"
			}
			t.Errorf("after %s, the state's token %s is %s", after, id, state)
		}
	}
	for id, tok := range active {
		if baseline[id] {
			continue
		}
		if _, ok := managed[id]; ok && wantActive {
			continue
		}
		// A token in its revoke_grace_period after a destroy had its expiry
		// shortened instead: it expires by itself.
		if _, err := firstEvent(api, cmdopapi.ActionTokenExpiryShortened, id); err == nil && !wantActive {
			continue
		}
		t.Errorf("after %s, token %s (%q) is active, but no state holds it: a leftover", after, id, tok.Name)
	}
}
