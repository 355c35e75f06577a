package cmdoplocal

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

// eventPos is a position in the audit log: events are ordered by (time, id).
type eventPos struct {
	time time.Time
	id   string
}

func comparePos(e *cmdopapi.Event, p eventPos) int {
	if c := e.Time.Compare(p.time); c != 0 {
		return c
	}
	return cmp.Compare(e.ID, p.id)
}

// encodeCursor makes the opaque cursor that resumes after event e.
func encodeCursor(e *cmdopapi.Event) string {
	return base64.RawURLEncoding.EncodeToString([]byte(e.Time.Format(time.RFC3339Nano) + "|" + e.ID))
}

func decodeCursor(s string) (eventPos, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return eventPos{}, false
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || !strings.HasPrefix(id, "evt_") {
		return eventPos{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return eventPos{}, false
	}
	return eventPos{time: t, id: id}, true
}

// eventQuery is a parsed GET /api/audit/events.
type eventQuery struct {
	fleetID, tokenID, actorID string
	actions                   map[string]bool
	since, until              *time.Time // since is inclusive, until exclusive
	limit                     int
	after                     *eventPos // the cursor: resume with events older than this
}

func parseEventQuery(q map[string][]string) (*eventQuery, *apiError) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	eq := &eventQuery{fleetID: get("fleet_id"), tokenID: get("token_id"), actorID: get("actor_id"), limit: defaultEventLimit}
	for _, a := range q["action"] {
		if !slices.Contains(cmdopapi.AuditActions, a) {
			e := errValidation("action", "Unknown action %q; valid actions are %s.", a, strings.Join(cmdopapi.AuditActions, ", "))
			e.details["valid_actions"] = cmdopapi.AuditActions
			return nil, e
		}
		if eq.actions == nil {
			eq.actions = map[string]bool{}
		}
		eq.actions[a] = true
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
	}{{"since", &eq.since}, {"until", &eq.until}} {
		if _, ok := q[f.name]; !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, get(f.name))
		if err != nil {
			return nil, errValidation(f.name, "%s must be an RFC 3339 date-time such as 2030-01-02T15:04:05Z.", f.name)
		}
		*f.dst = &t
	}
	if _, ok := q["limit"]; ok {
		n, err := strconv.Atoi(get("limit"))
		if err != nil || n < 1 || n > maxEventLimit {
			return nil, errValidation("limit", "limit must be an integer from 1 to %d.", maxEventLimit)
		}
		eq.limit = n
	}
	if c := get("cursor"); c != "" { // an empty cursor means the first page
		p, ok := decodeCursor(c)
		if !ok {
			return nil, errValidation("cursor", "cursor is not valid; pass the next_cursor of a previous page unchanged, or omit it to start from the newest event.")
		}
		eq.after = &p
	}
	return eq, nil
}

// viewer decides which events a caller may see: its own account's events
// (events of its user's personal tokens, or by its user) and the events of
// the fleets whose tokens it may manage. A fleet token also sees its own events.
type viewer struct {
	userID   string
	selfID   string
	personal map[string]bool // ids of the user's personal tokens
	fleets   map[string]bool
}

func (s *Server) viewerFor(caller *tokenRecord) *viewer {
	v := &viewer{selfID: caller.ID, personal: map[string]bool{}, fleets: s.st.manageableFleets(caller)}
	if caller.isPersonal() {
		v.userID = caller.UserID
		for _, t := range s.st.userTokens[caller.UserID] {
			v.personal[t.ID] = true
		}
	}
	return v
}

func (v *viewer) sees(e *cmdopapi.Event) bool {
	switch {
	case e.FleetID != "" && v.fleets[e.FleetID]:
		return true
	case e.TokenID != "" && (v.personal[e.TokenID] || e.TokenID == v.selfID):
		return true
	case v.personal[e.Actor.ID] || e.Actor.ID == v.selfID:
		return true
	case v.userID != "" && e.Actor.ID == v.userID:
		return true
	}
	return false
}

func (eq *eventQuery) matches(e *cmdopapi.Event) bool {
	switch {
	case eq.fleetID != "" && e.FleetID != eq.fleetID,
		eq.tokenID != "" && e.TokenID != eq.tokenID,
		eq.actorID != "" && e.Actor.ID != eq.actorID,
		eq.actions != nil && !eq.actions[e.Action]:
		return false
	}
	return true
}

func (s *Server) listAuditEvents(w http.ResponseWriter, c *call) {
	q, err := parseQuery(c)
	if err != nil {
		writeError(w, err)
		return
	}
	eq, err := parseEventQuery(q)
	if err != nil {
		writeError(w, err)
		return
	}
	if eq.fleetID != "" {
		f := s.st.fleets[eq.fleetID]
		if f == nil {
			writeError(w, errNotFound(cmdopapi.ReasonFleetNotFound, "Fleet %q was not found; check the fleet_id parameter.", eq.fleetID))
			return
		}
		if err := s.authorizeFleet(c.caller, f); err != nil {
			err.message = "Reading a fleet's audit events requires being allowed to manage its tokens. " + err.message
			writeError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, s.st.queryEvents(eq, s.viewerFor(c.caller)))
}

// queryEvents returns one page, newest first. It binary-searches the start
// (cursor or until) and scans backwards, so paging through the whole log
// costs O(N) in total, and events appended meanwhile (always newer than the
// cursor) never show up in later pages.
func (st *store) queryEvents(eq *eventQuery, v *viewer) cmdopapi.EventPage {
	evs := st.events
	end := len(evs) // scan evs[:end] backwards
	if eq.after != nil {
		end = sort.Search(len(evs), func(i int) bool { return comparePos(&evs[i], *eq.after) >= 0 })
	}
	if eq.until != nil {
		end = min(end, sort.Search(len(evs), func(i int) bool { return !evs[i].Time.Before(*eq.until) }))
	}
	page := cmdopapi.EventPage{Items: []cmdopapi.Event{}}
	for i := end - 1; i >= 0; i-- {
		e := &evs[i]
		if eq.since != nil && e.Time.Before(*eq.since) {
			break
		}
		if !eq.matches(e) || !v.sees(e) {
			continue
		}
		if len(page.Items) == eq.limit {
			// There is at least one more: point the cursor after the last item.
			page.NextCursor = encodeCursor(&page.Items[len(page.Items)-1])
			break
		}
		page.Items = append(page.Items, *e)
	}
	return page
}
