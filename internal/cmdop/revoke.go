package cmdop

import (
	"context"
	"net/http"
)

// RevokeTokenRequestID revokes a token, as RevokeToken does, and returns
// the request ID the API answered with: the ID the audit log records the
// revocation under. On an API error it is also in the *Error.
func (c *Client) RevokeTokenRequestID(ctx context.Context, fleetID, id string) (string, error) {
	res, err := c.RevokeTokenAttempts(ctx, fleetID, id)
	return res.RequestID, err
}

// RevokeResult is what a revocation call saw: the request ID of the last
// answer, and how many attempts the call took. After more than one
// attempt, the request ID may not be the one the audit log recorded the
// revocation under (an earlier attempt whose answer was lost may have
// revoked the token): ask the audit log.
type RevokeResult struct {
	RequestID string
	Attempts  int
}

// RevokeTokenAttempts revokes a token, as RevokeToken does, and says how
// many attempts it took.
func (c *Client) RevokeTokenAttempts(ctx context.Context, fleetID, id string) (RevokeResult, error) {
	route, params := item(fleetID, id)
	var res RevokeResult
	ctx = context.WithValue(ctx, attemptsKey{}, &res.Attempts)
	err := c.do(ctx, call{method: http.MethodDelete, route: route, params: params, requestID: &res.RequestID})
	return res, err
}

// RevokeTokenRequestID revokes through the client, as RevokeToken does,
// and returns the API's request ID.
func (c *TokenCache) RevokeTokenRequestID(ctx context.Context, fleetID, id string) (string, error) {
	requestID, err := c.client.RevokeTokenRequestID(ctx, fleetID, id)
	c.forget(fleetID, id)
	return requestID, err
}

// RevokeTokenAttempts revokes through the client, as RevokeToken does, and
// says how many attempts it took.
func (c *TokenCache) RevokeTokenAttempts(ctx context.Context, fleetID, id string) (RevokeResult, error) {
	res, err := c.client.RevokeTokenAttempts(ctx, fleetID, id)
	c.forget(fleetID, id)
	return res, err
}

// WithToken returns a client that calls the same API the same way, with
// another bearer token: the revoke action's who-am-I check of a leaked
// secret. The token is never logged.
func (c *Client) WithToken(token string) *Client {
	return &Client{base: c.base, token: token, userAgent: c.userAgent, http: c.http}
}
