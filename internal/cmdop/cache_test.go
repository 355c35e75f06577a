package cmdop_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

func TestTokenCache_sharesOneListing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for i := range 250 {
		ids = append(ids, e.create(e.admin, e.fleet, "c"+string(rune('a'+i%26))).ID)
	}
	cache := cmdop.NewTokenCache(e.admin)
	e.srv.ResetStats()
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := cache.GetToken(ctx, e.fleet, id)
			if err == nil && tok.ID != id {
				t.Errorf("got token %s for %s", tok.ID, id)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := e.srv.Stats(); st.Total != 2 || st.ByRoute["GET /api/fleets/{fleet_id}/api-keys"] != 2 {
		t.Fatalf("250 concurrent reads made %d requests %v, want the 2 pages of one listing", st.Total, st.ByRoute)
	}

	// A token created elsewhere is missing from the listing: one GET.
	other := e.create(e.admin, e.fleet, "elsewhere")
	if _, err := cache.GetToken(ctx, e.fleet, other.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Stats().ByRoute["GET /api/fleets/{fleet_id}/api-keys/{key_id}"]; got != 1 {
		t.Fatalf("%d single reads, want 1", got)
	}

	// Changes made through the cache keep it correct.
	created, err := cache.CreateToken(ctx, e.fleet, cmdopapi.CreateTokenRequest{Name: "via-cache", Scopes: []string{"machines:read"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetStats()
	if tok, err := cache.GetToken(ctx, e.fleet, created.ID); err != nil || tok.RawToken != "" || tok.Status != cmdopapi.StatusActive {
		t.Fatalf("cached create: %+v, %v (the cache must never hold a secret)", tok, err)
	}
	if e.srv.Stats().Total != 0 {
		t.Fatal("a token created through the cache was read from the API again")
	}
	if err := cache.RevokeToken(ctx, e.fleet, created.ID); err != nil {
		t.Fatal(err)
	}
	if tok, err := cache.GetToken(ctx, e.fleet, created.ID); err != nil || tok.Status != cmdopapi.StatusRevoked {
		t.Fatalf("after a revoke through the cache: %+v, %v", tok, err)
	}
}
