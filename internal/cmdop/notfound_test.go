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
// fleet, a wrong base URL path or another user's collection are not.
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
