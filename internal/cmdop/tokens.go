package cmdop

// The token operations of the contract: create, read, list, shorten, revoke,
// and the who-am-I call.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Token collections: a fleet's api-keys, or the caller's personal api-tokens
// when fleetID is empty.
const (
	routeFleetTokens    = "/api/fleets/{fleet_id}/api-keys"
	routeFleetToken     = "/api/fleets/{fleet_id}/api-keys/{key_id}"
	routePersonalTokens = "/api/account/api-tokens"
	routePersonalToken  = "/api/account/api-tokens/{token_id}"
	routeAuditEvents    = "/api/audit/events"
	// The lookup by Idempotency-Key is designed (x-designed in the contract).
	routeFleetTokenByKey    = "/api/fleets/{fleet_id}/api-keys/by-idempotency-key/{idempotency_key}"
	routePersonalTokenByKey = "/api/account/api-tokens/by-idempotency-key/{idempotency_key}"
	routeAccount            = "/api/account"
)

// Account returns who the client's token belongs to: the who-am-I call.
func (c *Client) Account(ctx context.Context) (*cmdopapi.Account, error) {
	var out cmdopapi.Account
	if err := c.do(ctx, call{method: http.MethodGet, route: routeAccount, out: &out, check: func() string { return checkAccount(&out) }}); err != nil {
		return nil, err
	}
	return &out, nil
}

func collection(fleetID string) (string, map[string]string) {
	if fleetID == "" {
		return routePersonalTokens, map[string]string{}
	}
	return routeFleetTokens, map[string]string{"fleet_id": fleetID}
}

func item(fleetID, id string) (string, map[string]string) {
	if fleetID == "" {
		return routePersonalToken, map[string]string{"token_id": id}
	}
	return routeFleetToken, map[string]string{"fleet_id": fleetID, "key_id": id}
}

// CreateToken issues a token in fleetID, or a personal token when fleetID is
// empty. The returned token carries the secret in RawToken. The request is
// sent with idempotencyKey (a new one when empty), so a retried create never
// mints twice.
func (c *Client) CreateToken(ctx context.Context, fleetID string, in cmdopapi.CreateTokenRequest, idempotencyKey string) (*cmdopapi.Token, error) {
	if idempotencyKey == "" {
		idempotencyKey = uuid.NewString()
	}
	route, params := collection(fleetID)
	var out cmdopapi.Token
	err := c.do(ctx, call{
		method: http.MethodPost, route: route, params: params, body: in, out: &out,
		header: http.Header{"Idempotency-Key": {idempotencyKey}},
		check:  func() string { return tokenCheck{fleetID: fleetID, name: in.Name}.check(&out) },
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetToken reads one token.
func (c *Client) GetToken(ctx context.Context, fleetID, id string) (*cmdopapi.Token, error) {
	route, params := item(fleetID, id)
	var out cmdopapi.Token
	check := func() string { return tokenCheck{id: id, fleetID: fleetID}.check(&out) }
	if err := c.do(ctx, call{method: http.MethodGet, route: route, params: params, out: &out, check: check}); err != nil {
		return nil, err
	}
	return &out, nil
}

// MaxPerPage is the largest token page the API serves.
const MaxPerPage = 200

// ListTokens reads one offset page of tokens.
func (c *Client) ListTokens(ctx context.Context, fleetID string, offset, perPage int) (*cmdopapi.TokenPage, error) {
	route, params := collection(fleetID)
	q := url.Values{}
	q.Set("offset", fmt.Sprint(offset))
	q.Set("per_page", fmt.Sprint(perPage))
	var out cmdopapi.TokenPage
	check := func() string {
		for i := range out.Items {
			if why := (tokenCheck{fleetID: fleetID}).check(&out.Items[i]); why != "" {
				return "in the listing: " + why
			}
		}
		return ""
	}
	if err := c.do(ctx, call{method: http.MethodGet, route: route, params: params, query: q, out: &out, check: check}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAllTokens reads every token of the collection, MaxPerPage at a time.
func (c *Client) ListAllTokens(ctx context.Context, fleetID string) ([]cmdopapi.Token, error) {
	var all []cmdopapi.Token
	for {
		page, err := c.ListTokens(ctx, fleetID, len(all), MaxPerPage)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if len(page.Items) == 0 || len(all) >= page.Total {
			return all, nil
		}
	}
}

// ShortenExpiry moves a token's expiry earlier, to at.
func (c *Client) ShortenExpiry(ctx context.Context, fleetID, id string, at time.Time) (*cmdopapi.Token, error) {
	route, params := item(fleetID, id)
	var out cmdopapi.Token
	err := c.do(ctx, call{
		method: http.MethodPatch, route: route, params: params,
		body: cmdopapi.ShortenExpiryRequest{ExpiresAt: at.UTC()}, out: &out,
		check: func() string { return tokenCheck{id: id, fleetID: fleetID}.check(&out) },
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeToken revokes a token. Revoking a revoked token succeeds.
func (c *Client) RevokeToken(ctx context.Context, fleetID, id string) error {
	route, params := item(fleetID, id)
	err := c.do(ctx, call{method: http.MethodDelete, route: route, params: params})
	return err
}

// FindTokenByIdempotencyKey returns the token that this client's create
// with idempotencyKey issued in the collection, without its secret. It
// creates nothing; ErrTokenNotFound says the API remembers no such create.
func (c *Client) FindTokenByIdempotencyKey(ctx context.Context, fleetID, idempotencyKey string) (*cmdopapi.Token, error) {
	route, params := routePersonalTokenByKey, map[string]string{"idempotency_key": idempotencyKey}
	if fleetID != "" {
		route = routeFleetTokenByKey
		params["fleet_id"] = fleetID
	}
	var out cmdopapi.Token
	check := func() string { return tokenCheck{fleetID: fleetID}.check(&out) }
	if err := c.do(ctx, call{method: http.MethodGet, route: route, params: params, out: &out, check: check}); err != nil {
		return nil, err
	}
	return &out, nil
}
