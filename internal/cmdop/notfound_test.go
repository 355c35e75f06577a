package cmdop_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Only "no such token in this collection" is ErrTokenNotFound: a missing
// fleet, a wrong base URL path or another user's fleet are not. Another
// user's personal token is not in the caller's own collection, so the API
// answers token_not_found there: the client cannot tell that from a revoked
// token, and the provider checks a personal token's owner before it asks
// (checkOwner; TestAccNeverLose_wrongSettings).
func TestClient_onlyTheTokensOwnAbsenceIsTokenNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.create(e.admin, e.fleet, "probe")
	missing := "00000000-0000-4000-8000-000000000000"

	_, err := e.admin.GetToken(ctx, e.fleet, missing)
	if !errors.Is(err, cmdop.ErrTokenNotFound) {
		t.Fatalf("a missing token gave %v, want ErrTokenNotFound", err)
	}
	cases := map[string]func() error{
		"missing fleet": func() error { _, err := e.admin.GetToken(ctx, "no-such-fleet", tok.ID); return err },
		"wrong base URL path": func() error {
			c, _ := cmdop.New(cmdop.Config{BaseURL: e.url + "/v1", Token: e.srv.AdminToken(), MaxRetries: -1})
			_, err := c.GetToken(ctx, e.fleet, tok.ID)
			return err
		},
		"revoke in a missing fleet": func() error { return e.admin.RevokeToken(ctx, "no-such-fleet", tok.ID) },
	}
	for name, call := range cases {
		err := call()
		if err == nil || errors.Is(err, cmdop.ErrTokenNotFound) {
			t.Errorf("%s: got %v, want an error that is not ErrTokenNotFound", name, err)
		}
		if !errors.Is(err, cmdop.ErrNotFound) {
			t.Errorf("%s: got %v, want a 404", name, err)
		}
	}
	// Another user's fleet: an admin of another fleet only is refused with
	// a 403, never told the token is gone.
	other, err := e.srv.AddFleet("")
	if err != nil {
		t.Fatal(err)
	}
	_, _, outsider, err := e.srv.AddMember(other, "admin", "outsider")
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"read":   func() error { _, err := e.client(outsider, 0).GetToken(ctx, e.fleet, tok.ID); return err },
		"revoke": func() error { return e.client(outsider, 0).RevokeToken(ctx, e.fleet, tok.ID) },
	} {
		if err := call(); !errors.Is(err, cmdop.ErrPermission) || errors.Is(err, cmdop.ErrTokenNotFound) {
			t.Errorf("%s in another user's fleet: got %v, want a 403 that is not ErrTokenNotFound", name, err)
		}
	}
	if got, err := e.admin.GetToken(ctx, e.fleet, tok.ID); err != nil || got.Status != cmdopapi.StatusActive {
		t.Errorf("after the outsider's calls the token is %+v, %v; want it active", got, err)
	}
	// Another user's personal token, asked for in the caller's collection.
	own, err := e.admin.CreateToken(ctx, "", cmdopapi.CreateTokenRequest{Name: "admins", Scopes: []string{"files:read"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client(outsider, 0).GetToken(ctx, "", own.ID); !errors.Is(err, cmdop.ErrTokenNotFound) {
		t.Errorf("another user's personal token: got %v, want token_not_found (the caller's collection lacks it)", err)
	}

	apiErr, _ := cmdop.AsError(cases["wrong base URL path"]())
	if apiErr.Reason != cmdopapi.ReasonRouteNotFound {
		t.Errorf("wrong base URL path: reason %q, want route_not_found", apiErr.Reason)
	}
	apiErr, _ = cmdop.AsError(cases["missing fleet"]())
	if apiErr.Reason != cmdopapi.ReasonFleetNotFound {
		t.Errorf("missing fleet: reason %q, want fleet_not_found", apiErr.Reason)
	}
}

// An unknown path with a bad token is a 401: the API authenticates first.
func TestClient_unknownRouteWithBadTokenIs401(t *testing.T) {
	e := newEnv(t)
	c, _ := cmdop.New(cmdop.Config{BaseURL: e.url + "/v1", Token: "cmdop_NotAToken0123456789abcdefghijklmno", MaxRetries: -1})
	_, err := c.GetToken(context.Background(), e.fleet, "00000000-0000-4000-8000-000000000000")
	if !errors.Is(err, cmdop.ErrAuth) {
		t.Fatalf("got %v, want 401", err)
	}
}

func TestClient_account(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	acct, err := e.admin.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.TokenType != cmdopapi.TokenTypePersonal || acct.UserID != e.srv.OwnerUserID() || acct.FleetID != "" || len(acct.Scopes) != len(cmdopapi.Scopes) {
		t.Fatalf("admin account = %+v", acct)
	}
	ft := e.create(e.admin, e.fleet, "fleet", "machines:read")
	acct, err = e.client(ft.RawToken, 0).Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.TokenType != cmdopapi.TokenTypeFleet || acct.FleetID != e.fleet || acct.UserID != "" || acct.TokenID != ft.ID ||
		strings.Join(acct.Scopes, ",") != "machines:read" || acct.ExpiresAt != nil {
		t.Fatalf("fleet token account = %+v", acct)
	}
}

// A fleet ID with a reserved character is escaped exactly once and reaches
// its fleet.
func TestClient_pathParametersEscapedOnce(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"team%42", "a?b#c", "ü-fleet"} {
		if _, err := e.srv.AddFleet(id); err != nil && !strings.Contains(id, "ü") {
			t.Fatalf("AddFleet(%q): %v", id, err)
		} else if err != nil {
			continue // not printable ASCII: refused, as it should be
		}
		tok := e.create(e.admin, id, "escaped")
		if tok.FleetID != id {
			t.Fatalf("created in %q, want %q", tok.FleetID, id)
		}
		got, err := e.admin.GetToken(context.Background(), id, tok.ID)
		if err != nil || got.FleetID != id {
			t.Fatalf("reading back in %q: %v %+v", id, err, got)
		}
	}
}
