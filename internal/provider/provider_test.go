package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
	"github.com/cmdop/terraform-provider-cmdop/internal/fwcompat"
	"github.com/cmdop/terraform-provider-cmdop/internal/provider"
)

// protoV6ProviderFactories serves the provider in-process to the Terraform
// CLI that terraform-plugin-testing drives.
var protoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"cmdop": fwcompat.NewProtocol6WithError(provider.New("test")()),
}

// TestMain points the test harness at the repository's Terraform (bin/,
// built by `make tools`) and at an existing CLI configuration, unless the
// environment already says otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(sinkEnv) != "" { // run as a secret_delivery command (token_resource_delivery_acc_test.go)
		os.Exit(runTestSink())
	}
	if os.Getenv(standInEnv) != "" { // run as a stand-in for a page's command (docs_examples_hooks_test.go)
		os.Exit(runStandIn())
	}
	root := localtest.RepoRoot()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if tf := filepath.Join(root, "bin", "terraform"); fileExists(tf) {
			_ = os.Setenv("TF_ACC_TERRAFORM_PATH", tf)
		}
	}
	// The variable may be set to a file that does not exist (seen on CI
	// machines); Terraform then prints a warning that breaks the harness.
	if rc := os.Getenv("TF_CLI_CONFIG_FILE"); rc == "" || !fileExists(rc) {
		rc := filepath.Join(root, "bin", "terraformrc")
		if !fileExists(rc) {
			f, err := os.CreateTemp("", "terraformrc")
			if err != nil {
				panic(err)
			}
			_ = f.Close()
			rc = f.Name()
			defer func() { _ = os.Remove(rc) }()
		}
		_ = os.Setenv("TF_CLI_CONFIG_FILE", rc)
	}
	code := m.Run()
	if providerDir != "" { // built by the CLI tests
		_ = os.RemoveAll(providerDir)
	}
	os.Exit(code) //nolint:gocritic // the deferred cleanup is best effort
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// testAPI is one test's own in-process cmdop-local.
type testAPI struct {
	t      *testing.T
	srv    *cmdoplocal.Server
	URL    string
	admin  *cmdop.Client
	secret string
}

// newTestAPI starts the test's own cmdop-local (localtest): every request
// the provider and the test make is held to the contract.
func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	api := localtest.Start(t, cmdoplocal.Options{})
	return &testAPI{t: t, srv: api.Server, URL: api.URL, secret: api.AdminToken, admin: api.Admin}
}

func newClient(t *testing.T, url, token string) *cmdop.Client {
	t.Helper()
	c, err := cmdop.New(cmdop.Config{BaseURL: url, Token: token, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FleetID is the seeded fleet.
func (a *testAPI) FleetID() string { return a.srv.FleetID() }

// providerWith configures the provider against this API with token (the
// admin's when empty) and extra arguments.
func (a *testAPI) providerWith(token, extra string) string {
	if token == "" {
		token = a.secret
	}
	return fmt.Sprintf("provider \"cmdop\" {\n  api_base_url = %q\n  token        = %q\n  fleet_id     = %q\n  %s\n}\n",
		a.URL, token, a.FleetID(), extra)
}

// config is a configuration with this API's provider block.
func (a *testAPI) config(body string) string { return a.providerWith("", "") + body }

// writes counts the write calls (POST, PATCH, DELETE) the API has received.
func (a *testAPI) writes() int { return a.srv.Stats().Writes }

// token reads a token as the API sees it.
func (a *testAPI) token(fleetID, id string) *cmdopapi.Token {
	a.t.Helper()
	tok, err := a.admin.GetToken(context.Background(), fleetID, id)
	if err != nil {
		a.t.Fatalf("reading token %s from the API: %v", id, err)
	}
	return tok
}

// activeTokens lists the IDs of the active tokens in a collection.
func (a *testAPI) activeTokens(fleetID string) map[string]cmdopapi.Token {
	a.t.Helper()
	all, err := a.admin.ListAllTokens(context.Background(), fleetID)
	if err != nil {
		a.t.Fatalf("listing tokens: %v", err)
	}
	out := map[string]cmdopapi.Token{}
	for _, tok := range all {
		if tok.Status == cmdopapi.StatusActive {
			out[tok.ID] = tok
		}
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
