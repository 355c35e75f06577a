package provider

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// The ledger revokes exactly the tokens that were opened and not closed,
// each with the client that opened it, and keeps (and counts) those it
// could not revoke.
func TestEphemeralLedger_revokesWhatIsOpen(t *testing.T) {
	t.Parallel()
	api := localtest.Start(t, cmdoplocal.Options{})
	ctx := context.Background()
	issue := func(fleet, name string) *cmdopapi.Token {
		t.Helper()
		at := time.Now().Add(2 * time.Hour)
		tok, err := api.Admin.CreateToken(ctx, fleet, cmdopapi.CreateTokenRequest{Name: name, Scopes: []string{"machines:read"}, ExpiresAt: &at}, uuid.NewString())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	personal := issue("", "left-open-personal")
	fleet := issue(api.FleetID, "left-open-fleet")
	closed := issue(api.FleetID, "closed")
	unreachable, err := cmdop.New(cmdop.Config{BaseURL: "http://127.0.0.1:1", Token: "cmdop_unreachable", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}

	l := newEphemeralLedger()
	l.opened(api.Admin, "", personal.ID)
	l.opened(api.Admin, api.FleetID, fleet.ID)
	l.opened(api.Admin, api.FleetID, closed.ID)
	l.closed(api.FleetID, closed.ID)
	l.opened(unreachable, api.FleetID, "00000000-0000-4000-8000-000000000000")
	revoked, failed := l.revokeOpen(ctx)
	if revoked != 2 || failed != 1 {
		t.Fatalf("revoked %d and failed %d, want 2 and 1", revoked, failed)
	}
	if l.pending() != 1 {
		t.Fatalf("%d tokens left in the ledger, want the unrevocable one", l.pending())
	}
	for _, c := range []struct {
		fleet string
		tok   *cmdopapi.Token
		want  string
	}{{"", personal, cmdopapi.StatusRevoked}, {api.FleetID, fleet, cmdopapi.StatusRevoked}, {api.FleetID, closed, cmdopapi.StatusActive}} {
		got, err := api.Admin.GetToken(ctx, c.fleet, c.tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != c.want {
			t.Errorf("token %q is %s, want %s", got.Name, got.Status, c.want)
		}
	}
	// A second stop revokes nothing twice.
	if revoked, _ := l.revokeOpen(ctx); revoked != 0 {
		t.Errorf("the second revokeOpen revoked %d tokens, want 0", revoked)
	}
}
