package cmdop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// TokenCache serves single-token reads from one paged listing per
// collection (a fleet, or the caller's personal tokens), fetched at most
// once for the cache's lifetime, so that reading N tokens costs about N/200
// requests instead of N. Concurrent readers share a single fetch. A token
// the listing lacks is read on its own. Creates, revocations and expiry
// changes made through the cache keep it correct.
//
// The provider keeps one per configured provider process: Terraform
// refreshes every resource of a plan in one process, and a new process
// (the next command) starts with an empty cache.
type TokenCache struct {
	client *Client
	flight singleflight.Group

	mu    sync.Mutex
	lists map[string]map[string]cmdopapi.Token // collection → token ID → token
}

// NewTokenCache returns an empty cache reading through client.
func NewTokenCache(client *Client) *TokenCache {
	return &TokenCache{client: client, lists: map[string]map[string]cmdopapi.Token{}}
}

// ServerNow is the API server's clock, as the client last saw it.
func (c *TokenCache) ServerNow() time.Time { return c.client.ServerNow() }

// RefreshToken reads a token from the API, never from the listing, and
// records what it read.
func (c *TokenCache) RefreshToken(ctx context.Context, fleetID, id string) (*cmdopapi.Token, error) {
	t, err := c.client.GetToken(ctx, fleetID, id)
	if err != nil {
		return nil, err
	}
	c.put(fleetID, *t)
	return t, nil
}

// CheckCollection fetches the collection's listing (once), so that an
// unreachable collection (a missing fleet, a wrong URL, no permission)
// fails early with the API's error.
func (c *TokenCache) CheckCollection(ctx context.Context, fleetID string) error {
	_, err := c.listing(ctx, fleetID)
	return err
}

// GetToken returns a token, from the collection's listing when it has it.
func (c *TokenCache) GetToken(ctx context.Context, fleetID, id string) (*cmdopapi.Token, error) {
	list, err := c.listing(ctx, fleetID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	tok, ok := list[id]
	c.mu.Unlock()
	if ok {
		return &tok, nil
	}
	return c.RefreshToken(ctx, fleetID, id)
}

// listing fetches the collection once; concurrent callers wait for the
// same fetch. A failed fetch is not kept, so the next read tries again.
func (c *TokenCache) listing(ctx context.Context, fleetID string) (map[string]cmdopapi.Token, error) {
	c.mu.Lock()
	list, ok := c.lists[fleetID]
	c.mu.Unlock()
	if ok {
		return list, nil
	}
	ch := c.flight.DoChan(fleetID, func() (any, error) {
		c.mu.Lock()
		if list, ok := c.lists[fleetID]; ok {
			c.mu.Unlock()
			return list, nil
		}
		c.mu.Unlock()
		// The fetch serves every waiting reader: one reader's deadline or
		// cancellation must not fail the others.
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultCallTimeout)
		defer cancel()
		all, err := c.client.ListAllTokens(fetchCtx, fleetID)
		if err != nil {
			return nil, err
		}
		list := make(map[string]cmdopapi.Token, len(all))
		for _, t := range all {
			list[t.ID] = t
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.lists[fleetID] = list
		return list, nil
	})
	// A reader stops waiting at its own deadline; the fetch goes on for
	// the others.
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return nil, fmt.Errorf("listing the tokens: gave up waiting for the CMDOP API (%w); the API may be slow or rate limiting, retry later or raise the timeout", ctx.Err())
	}
	v, err := res.Val, res.Err
	if err != nil {
		return nil, err
	}
	list, ok = v.(map[string]cmdopapi.Token)
	if !ok {
		return nil, errors.New("token cache: unexpected listing type")
	}
	return list, nil
}

// put records a token in a collection's listing, if it has been fetched.
func (c *TokenCache) put(fleetID string, t cmdopapi.Token) {
	t.RawToken = "" // never keep a secret
	c.mu.Lock()
	defer c.mu.Unlock()
	if list, ok := c.lists[fleetID]; ok {
		list[t.ID] = t
	}
}

func (c *TokenCache) forget(fleetID, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if list, ok := c.lists[fleetID]; ok {
		delete(list, id)
	}
}

// CreateToken creates through the client and records the new token.
func (c *TokenCache) CreateToken(ctx context.Context, fleetID string, in cmdopapi.CreateTokenRequest, idempotencyKey string) (*cmdopapi.Token, error) {
	t, err := c.client.CreateToken(ctx, fleetID, in, idempotencyKey)
	if err == nil {
		c.put(fleetID, *t)
	}
	return t, err
}

// ShortenExpiry changes the expiry through the client and records it.
func (c *TokenCache) ShortenExpiry(ctx context.Context, fleetID, id string, at time.Time) (*cmdopapi.Token, error) {
	t, err := c.client.ShortenExpiry(ctx, fleetID, id, at)
	if err == nil {
		c.put(fleetID, *t)
	}
	return t, err
}

// RevokeToken revokes through the client. The token is dropped from the
// listing, so the next read asks the API for its revoked state.
func (c *TokenCache) RevokeToken(ctx context.Context, fleetID, id string) error {
	err := c.client.RevokeToken(ctx, fleetID, id)
	c.forget(fleetID, id)
	return err
}

// FindTokenByIdempotencyKey looks a create's token up through the client.
func (c *TokenCache) FindTokenByIdempotencyKey(ctx context.Context, fleetID, idempotencyKey string) (*cmdopapi.Token, error) {
	return c.client.FindTokenByIdempotencyKey(ctx, fleetID, idempotencyKey)
}

// ListAll reads the whole collection through the listing (once).
func (c *TokenCache) ListAll(ctx context.Context, fleetID string) ([]cmdopapi.Token, error) {
	list, err := c.listing(ctx, fleetID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]cmdopapi.Token, 0, len(list))
	for _, t := range list {
		out = append(out, t)
	}
	return out, nil
}
