package cmdop

import (
	"context"
	"net/http"
)

// RevokeTokenRequestID revokes a token, as RevokeToken does, and returns
// the request ID the API answered with: the ID the audit log records the
// revocation under. On an API error it is also in the *Error.
func (c *Client) RevokeTokenRequestID(ctx context.Context, fleetID, id string) (string, error) {
	route, params := item(fleetID, id)
	var requestID string
	err := c.do(ctx, call{method: http.MethodDelete, route: route, params: params, requestID: &requestID})
	return requestID, err
}

// RevokeTokenRequestID revokes through the client, as RevokeToken does,
// and returns the API's request ID.
func (c *TokenCache) RevokeTokenRequestID(ctx context.Context, fleetID, id string) (string, error) {
	requestID, err := c.client.RevokeTokenRequestID(ctx, fleetID, id)
	c.forget(fleetID, id)
	return requestID, err
}
