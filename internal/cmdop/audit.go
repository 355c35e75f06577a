package cmdop

// Reading the audit log.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// AuditQuery filters the audit log. Zero fields don't filter.
type AuditQuery struct {
	FleetID string
	TokenID string
	ActorID string
	Actions []string
	Since   time.Time
	Until   time.Time
}

func (q AuditQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("fleet_id", q.FleetID)
	set("token_id", q.TokenID)
	set("actor_id", q.ActorID)
	for _, a := range q.Actions {
		v.Add("action", a)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	return v
}

// MaxAuditLimit is the largest audit page the API serves.
const MaxAuditLimit = 1000

// ListAuditEvents reads one page of audit events, newest first.
func (c *Client) ListAuditEvents(ctx context.Context, q AuditQuery, cursor string, limit int) (*cmdopapi.EventPage, error) {
	v := q.values()
	v.Set("limit", fmt.Sprint(limit))
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var out cmdopapi.EventPage
	if err := c.do(ctx, call{method: http.MethodGet, route: routeAuditEvents, query: v, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditEvents follows the cursor until it has limit events or the log runs
// out. truncated reports that more events matched than limit. It asks for one
// event more than it needs, so that knowing whether the log went on costs
// no extra request.
func (c *Client) AuditEvents(ctx context.Context, q AuditQuery, limit int) (events []cmdopapi.Event, truncated bool, err error) {
	cursor := ""
	for {
		page, err := c.ListAuditEvents(ctx, q, cursor, min(MaxAuditLimit, limit-len(events)+1))
		if err != nil {
			return nil, false, err
		}
		events = append(events, page.Items...)
		if len(events) > limit {
			return events[:limit], true, nil
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			return events, false, nil
		}
		cursor = page.NextCursor
	}
}
