package cmdoplocal

import (
	"cmp"
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
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

// where returns the SQL condition on events that v sees, and its arguments.
func (v *viewer) where() (string, []any) {
	tokens := append(slices.Sorted(maps.Keys(v.personal)), v.selfID)
	actors := tokens
	if v.userID != "" {
		actors = append(slices.Clone(tokens), v.userID)
	}
	var args []any
	terms := []string{}
	if len(v.fleets) > 0 {
		fleets := slices.Sorted(maps.Keys(v.fleets))
		terms = append(terms, "fleet_id IN ("+placeholders(len(fleets))+")")
		args = appendAll(args, fleets)
	}
	terms = append(terms, "token_id IN ("+placeholders(len(tokens))+")")
	args = appendAll(args, tokens)
	terms = append(terms, "actor_id IN ("+placeholders(len(actors))+")")
	args = appendAll(args, actors)
	return "(" + strings.Join(terms, " OR ") + ")", args
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func appendAll(args []any, ss []string) []any {
	for _, s := range ss {
		args = append(args, s)
	}
	return args
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
	if s.db == nil {
		writeError(w, errUnavailable())
		return
	}
	page, qErr := s.db.queryEvents(eq, s.viewerFor(c.caller))
	if qErr != nil {
		s.logf("reading the audit log failed (request_id=%s): %v", c.requestID, qErr)
		writeError(w, errInternal("The server could not read its audit log; retry the request."))
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// queryEvents returns one page, newest first, from the database. Each
// equality filter has an index on (column, time, seq) that SQLite walks
// backwards from the cursor, so a page costs about the same whatever the
// size of the log; events appended meanwhile (always newer than the cursor)
// never show up in later pages.
func (d *stateDB) queryEvents(eq *eventQuery, v *viewer) (cmdopapi.EventPage, error) {
	q, args := eventsSQL(eq, v)
	st, err := d.stmt(q)
	if err != nil {
		return cmdopapi.EventPage{}, err
	}
	rows, err := st.Query(args...)
	if err != nil {
		return cmdopapi.EventPage{}, err
	}
	defer rows.Close()
	page := cmdopapi.EventPage{Items: make([]cmdopapi.Event, 0, min(eq.limit, 128))}
	for rows.Next() {
		if len(page.Items) == eq.limit {
			// There is at least one more: point the cursor after the last item.
			page.NextCursor = encodeCursor(&page.Items[len(page.Items)-1])
			break
		}
		var e cmdopapi.Event
		var seq uint64
		var ts string
		if err := rows.Scan(&seq, &ts, &e.Action, &e.Actor.Type, &e.Actor.ID, &e.TokenID, &e.FleetID, &e.RequestID, &e.SourceIP, &e.UserAgent, &e.StatusCode); err != nil {
			return cmdopapi.EventPage{}, err
		}
		if e.Time, err = parseTime(ts); err != nil {
			return cmdopapi.EventPage{}, err
		}
		e.ID = eventID(seq)
		page.Items = append(page.Items, e)
	}
	return page, rows.Err()
}

// eventsSQL is the query of one page: limit+1 rows, to tell whether there is more.
func eventsSQL(eq *eventQuery, v *viewer) (string, []any) {
	var conds []string
	var args []any
	for _, f := range []struct{ col, val string }{{"fleet_id", eq.fleetID}, {"token_id", eq.tokenID}, {"actor_id", eq.actorID}} {
		if f.val != "" {
			conds = append(conds, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	if len(eq.actions) > 0 {
		actions := slices.Sorted(maps.Keys(eq.actions))
		conds = append(conds, "action IN ("+placeholders(len(actions))+")")
		args = appendAll(args, actions)
	}
	if eq.since != nil {
		conds = append(conds, "time >= ?")
		args = append(args, fmtTime(*eq.since))
	}
	if eq.until != nil {
		conds = append(conds, "time < ?")
		args = append(args, fmtTime(*eq.until))
	}
	if eq.after != nil {
		conds = append(conds, "(time, seq) < (?, ?)")
		args = append(args, fmtTime(eq.after.time), eventSeqOf(eq.after.id))
	}
	vis, vargs := v.where()
	conds = append(conds, vis)
	args = append(args, vargs...)
	args = append(args, eq.limit+1)
	q := `SELECT seq, time, action, actor_type, actor_id, token_id, fleet_id, request_id, source_ip, user_agent, status_code
		FROM events WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY time DESC, seq DESC LIMIT ?`
	return q, args
}
