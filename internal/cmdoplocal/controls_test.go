package cmdoplocal_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func TestUnroutableFleetIDsAreRefused(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	for _, id := range []string{"a/b", "with space", "tab\t", strings.Repeat("f", 129)} {
		if _, err := cmdoplocal.New(cmdoplocal.Options{FleetID: id}); err == nil {
			t.Errorf("New accepted fleet ID %q", id)
		}
		if _, err := e.srv.AddFleet(id); err == nil {
			t.Errorf("AddFleet accepted %q", id)
		}
	}
}

func TestMembers(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	_, _, memberTok, err := e.srv.AddMember("", cmdoplocal.RoleMember, "Mia")
	if err != nil {
		t.Fatal(err)
	}
	// Over HTTP, as an admin.
	var added struct{ UserID, TokenID, Token string }
	r := e.do("POST", "/_local/members", e.ctl, `{"role":"admin","name":"Ada"}`).expect(t, 201, "")
	r.json(t, &struct {
		UserID  *string `json:"user_id"`
		TokenID *string `json:"token_id"`
		Token   *string `json:"token"`
	}{&added.UserID, &added.TokenID, &added.Token})
	mustf(t, rawTokenRE.MatchString(added.Token) && added.UserID != "" && added.TokenID != "", "added %+v", added)

	// A plain member cannot manage fleet tokens; an admin can.
	e.do("GET", fleetPath(e.fleet), memberTok, nil).expect(t, 403, cmdopapi.CodePermission)
	e.do("GET", fleetPath(e.fleet), added.Token, nil).expect(t, 200, "")
	// Both manage their own personal tokens, and see only their own.
	var page cmdopapi.TokenPage
	e.do("GET", personalPath, memberTok, nil).expect(t, 200, "").json(t, &page)
	mustf(t, page.Total == 1, "member's personal tokens: %d", page.Total)

	// A non-member (member of another fleet only) is refused.
	other, _ := e.srv.AddFleet("")
	_, _, outsider, err := e.srv.AddMember(other, cmdoplocal.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	e.do("GET", fleetPath(e.fleet), outsider, nil).expect(t, 403, cmdopapi.CodePermission)
	e.do("GET", fleetPath(other), outsider, nil).expect(t, 200, "")

	// The admin issues a fleet token and a second personal token.
	fleetTok := e.do("POST", fleetPath(e.fleet), added.Token, map[string]any{"name": "by-ada", "scopes": []string{"files:read"}}).expect(t, 201, "").token(t)
	mustf(t, fleetTok.CreatedByID == added.UserID, "created_by_id %q, want %q", fleetTok.CreatedByID, added.UserID)
	second := e.do("POST", personalPath, added.Token, map[string]any{"name": "second", "scopes": []string{"files:read"}}).expect(t, 201, "").token(t)

	// Removing her revokes her personal tokens, audited as local-control, and keeps her fleet token.
	e.do("DELETE", "/_local/members/"+added.UserID, e.ctl, nil).expect(t, 204, "")
	e.do("DELETE", "/_local/members/"+added.UserID, e.ctl, nil).expect(t, 404, cmdopapi.CodeNotFound)
	e.do("GET", personalPath, added.Token, nil).expect(t, 401, cmdopapi.CodeAuth)
	e.do("GET", personalPath, second.RawToken, nil).expect(t, 401, cmdopapi.CodeAuth)
	e.do("GET", "/api/account", fleetTok.RawToken, nil).expect(t, 200, "")
	got := e.do("GET", fleetPath(e.fleet)+"/"+fleetTok.ID, e.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.Status == cmdopapi.StatusActive, "fleet token of a removed member: %s", got.Status)

	// The fleet's owner sees local-control issuing her first token and
	// revoking both personal tokens.
	local := cmdopapi.Actor{Type: cmdopapi.ActorSystem, ID: "local-control"}
	n := 0
	for _, ev := range e.events(e.admin, "action=token.revoked&fleet_id="+e.fleet) {
		if ev.Actor == local && (ev.TokenID == added.TokenID || ev.TokenID == second.ID) {
			n++
		}
	}
	mustf(t, n == 2, "local-control token.revoked events: %d", n)
	issued := e.events(e.admin, "action=token.issued&token_id="+added.TokenID)
	mustf(t, len(issued) == 1 && issued[0].Actor == local && issued[0].FleetID == e.fleet && issued[0].StatusCode == 201,
		"token.issued by POST /_local/members: %+v", issued)

	// The owner cannot be removed; unknown users are not found.
	mustf(t, e.srv.RemoveMember(e.srv.OwnerUserID()) != nil, "removing the owner succeeded")
	e.do("DELETE", "/_local/members/"+e.srv.OwnerUserID(), e.ctl, nil).expect(t, 409, cmdopapi.CodeConflict)
	e.do("DELETE", "/_local/members/nobody", e.ctl, nil).expect(t, 404, cmdopapi.CodeNotFound)
	e.do("POST", "/_local/members", e.ctl, `{"role":"owner"}`).expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", "/_local/members", e.ctl, `{"fleet_id":"nope"}`).expect(t, 404, cmdopapi.CodeNotFound)
}

func TestLocalControlsNeedTheControlToken(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	other := e.createFleetToken("x", "files:read")
	for _, p := range []string{"/_local/clock", "/_local/faults", "/_local/stats"} {
		e.do("GET", p, "", nil).expect(t, 401, cmdopapi.CodeAuth)
		e.do("GET", p, "cmdop_"+strings.Repeat("z", 40), nil).expect(t, 401, cmdopapi.CodeAuth)
		e.do("GET", p, e.ctl+"x", nil).expect(t, 401, cmdopapi.CodeAuth)
		// Every API token is refused, the seeded admin's too.
		e.do("GET", p, other.RawToken, nil).expect(t, 403, cmdopapi.CodePermission)
		r := e.do("GET", p, e.admin, nil).expect(t, 403, cmdopapi.CodePermission)
		mustf(t, strings.Contains(r.errBody(t).Message, "CMDOP_LOCAL_CONTROL_TOKEN"), "403 does not say which token to use: %s", r.body)
		e.do("GET", p, e.ctl, nil).expect(t, 200, "")
	}
	// Refusals on /_local/ are not audited as auth failures.
	mustf(t, len(e.events(e.admin, "action=auth.failed")) == 0, "a /_local failure was audited")
	// The control token is no API token.
	e.do("GET", fleetPath(e.fleet), e.ctl, nil).expect(t, 401, cmdopapi.CodeAuth)
	// Revoking every API token, the admin's included, leaves the controls working.
	var page cmdopapi.TokenPage
	e.do("GET", personalPath, e.admin, nil).expect(t, 200, "").json(t, &page)
	e.do("DELETE", fleetPath(e.fleet)+"/"+other.ID, e.admin, nil).expect(t, 204, "")
	for _, tok := range page.Items {
		e.do("DELETE", personalPath+"/"+tok.ID, e.admin, nil).expect(t, 204, "")
	}
	e.do("GET", personalPath, e.admin, nil).expect(t, 401, cmdopapi.CodeAuth)
	e.do("GET", "/_local/clock", e.admin, nil).expect(t, 403, cmdopapi.CodePermission)
	e.do("POST", "/_local/clock", e.ctl, `{"advance":"1h"}`).expect(t, 200, "")
	var added struct {
		Token string `json:"token"`
	}
	e.do("POST", "/_local/members", e.ctl, `{"role":"admin"}`).expect(t, 201, "").json(t, &added)
	e.do("GET", fleetPath(e.fleet), added.Token, nil).expect(t, 200, "")
}

func TestControlTokenOption(t *testing.T) {
	ctl := "my-control-token-0123456789abcdefghij"
	e := newEnv(t, cmdoplocal.Options{ControlToken: ctl})
	mustf(t, e.srv.ControlToken() == ctl, "ControlToken() = %q", e.srv.ControlToken())
	e.do("GET", "/_local/clock", ctl, nil).expect(t, 200, "")
	for _, bad := range []string{"short", strings.Repeat("x", 40) + " y"} {
		if _, err := cmdoplocal.New(cmdoplocal.Options{ControlToken: bad}); err == nil {
			t.Errorf("New accepted control token %q", bad)
		}
	}
	// Generated ones differ per server and are not shaped like API tokens.
	a, b := newEnv(t, cmdoplocal.Options{}), newEnv(t, cmdoplocal.Options{})
	mustf(t, a.ctl != b.ctl && !rawTokenRE.MatchString(a.ctl), "generated control tokens %q, %q", a.ctl, b.ctl)
}

func TestExpiryAndClock(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	tok := e.do("POST", fleetPath(e.fleet), e.admin, map[string]any{"name": "short", "scopes": []string{"permissions:manage"}, "expires_in_days": 30}).
		expect(t, 201, "").token(t)
	e.do("GET", fleetPath(e.fleet), tok.RawToken, nil).expect(t, 200, "")

	before := e.srv.Now()
	var clock struct {
		Now time.Time `json:"now"`
	}
	e.do("POST", "/_local/clock", e.ctl, `{"advance":"31d"}`).expect(t, 200, "").json(t, &clock)
	mustf(t, clock.Now.Sub(before) >= 31*24*time.Hour, "clock moved from %v to %v", before, clock.Now)
	e.do("GET", "/_local/clock", e.ctl, nil).expect(t, 200, "").json(t, &clock)
	mustf(t, clock.Now.Sub(before) >= 31*24*time.Hour, "GET clock %v", clock.Now)

	r := e.do("GET", fleetPath(e.fleet), tok.RawToken, nil).expect(t, 401, cmdopapi.CodeAuth)
	mustf(t, strings.Contains(r.errBody(t).Message, "expired"), "message %s", r.body)
	date, err := http.ParseTime(r.header.Get("Date"))
	mustf(t, err == nil && date.Sub(before) >= 31*24*time.Hour-time.Second, "Date header %q does not follow the clock", r.header.Get("Date"))

	got := e.do("GET", fleetPath(e.fleet)+"/"+tok.ID, e.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.Status == cmdopapi.StatusExpired, "status %q", got.Status)
	evs := e.events(e.admin, "action=auth.failed&token_id="+tok.ID)
	mustf(t, len(evs) == 1 && evs[0].FleetID == e.fleet && evs[0].Time.After(tok.CreatedAt.Add(30*24*time.Hour)), "auth.failed: %+v", evs)

	e.do("POST", "/_local/clock", e.ctl, `{"advance":"-1h"}`).expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", "/_local/clock", e.ctl, `{"advance":"soon"}`).expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", "/_local/clock", e.ctl, `{}`).expect(t, 422, cmdopapi.CodeValidation)
	at, err := e.srv.AdvanceClock(36 * time.Hour)
	mustf(t, err == nil && at.Sub(clock.Now) >= 36*time.Hour, "AdvanceClock: %v %v", at, err)
}

// RevokeAfterWrites revokes the token inside the n-th successful write,
// before its response: no timing involved. Failed writes and reads do not
// count.
func TestRevokeAfterWrites(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	victim := e.createFleetToken("victim", "machines:read", "permissions:manage")
	if err := e.srv.RevokeAfterWrites(0, victim.ID); err == nil {
		t.Error("RevokeAfterWrites accepted n = 0")
	}
	if err := e.srv.RevokeAfterWrites(1, "no-such-token"); err == nil {
		t.Error("RevokeAfterWrites accepted an unknown token")
	}
	if err := e.srv.RevokeAfterWrites(2, victim.ID); err != nil {
		t.Fatal(err)
	}
	create := func(name string) *resp {
		return e.do("POST", fleetPath(e.fleet), victim.RawToken, map[string]any{"name": name, "scopes": []string{"machines:read"}})
	}
	create("first").expect(t, 201, "")
	e.do("GET", fleetPath(e.fleet), victim.RawToken, nil).expect(t, 200, "")                                              // a read
	e.do("POST", fleetPath(e.fleet), victim.RawToken, map[string]any{"name": ""}).expect(t, 422, cmdopapi.CodeValidation) // a failed write
	create("second").expect(t, 201, "")                                                                                   // the 2nd successful write: answered, then revoked
	create("third").expect(t, 401, cmdopapi.CodeAuth)
	evs := e.events(e.admin, "action="+cmdopapi.ActionTokenRevoked)
	mustf(t, countAction(evs, cmdopapi.ActionTokenRevoked, victim.ID) == 1, "token.revoked events of the victim: %+v", evs)
	mustf(t, evs[0].Actor.ID == "local-control", "revoked by %+v, want local-control", evs[0].Actor)
}
