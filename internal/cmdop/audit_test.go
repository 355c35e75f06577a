package cmdop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// AuditEvents asks for one event more than it needs: one request tells
// whether the log went on, and a limit the log meets exactly is not
// truncated.
func TestClient_auditEventsLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.create(e.admin, e.fleet, "busy")
	c := e.client(tok.RawToken, 0)
	for range 4 {
		if _, err := c.Account(ctx); err != nil {
			t.Fatal(err)
		}
	}
	q := cmdop.AuditQuery{TokenID: tok.ID, Actions: []string{cmdopapi.ActionTokenUsed}} // exactly 4 events
	for _, want := range []struct {
		limit, n  int
		truncated bool
	}{{3, 3, true}, {4, 4, false}, {5, 4, false}, {1, 1, true}} {
		e.srv.ResetStats()
		evs, truncated, err := e.admin.AuditEvents(ctx, q, want.limit)
		if err != nil {
			t.Fatal(err)
		}
		pages := e.srv.Stats().ByRoute["GET /api/audit/events"]
		if len(evs) != want.n || truncated != want.truncated || pages != 1 {
			t.Errorf("limit %d: %d events, truncated %v, %d requests; want %d, %v, 1", want.limit, len(evs), truncated, pages, want.n, want.truncated)
		}
	}
}

// Each page asks for no more than the events still wanted, plus the one
// that tells whether the log went on, and at most MaxAuditLimit: for 2500
// of an endless log, 1000, 1000 and 501.
func TestClient_auditEventsPageLimits(t *testing.T) {
	var asked []string
	seq := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := r.URL.Query().Get("limit")
		asked = append(asked, limit)
		n, _ := strconv.Atoi(limit)
		var page cmdopapi.EventPage
		for range n {
			seq++
			page.Items = append(page.Items, cmdopapi.Event{ID: fmt.Sprintf("evt_%012d", seq), Action: cmdopapi.ActionTokenUsed,
				Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Actor: cmdopapi.Actor{Type: cmdopapi.ActorSystem, ID: "system"}, RequestID: "req"})
		}
		page.NextCursor = "more"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer hs.Close()
	c, err := cmdop.New(cmdop.Config{BaseURL: hs.URL, Token: "cmdop_" + strings.Repeat("a", 40), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	evs, truncated, err := c.AuditEvents(context.Background(), cmdop.AuditQuery{}, 2500)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2500 || !truncated || strings.Join(asked, ",") != "1000,1000,501" {
		t.Errorf("%d events, truncated %v, pages asked with limits %v; want 2500, true, [1000 1000 501]", len(evs), truncated, asked)
	}
}
