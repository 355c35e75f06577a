package cmdoplocal

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Options configures a Server. The zero value is a usable in-memory server.
type Options struct {
	// AdminToken is the secret of the seeded admin token; empty generates one.
	// It must look like a CMDOP token: "cmdop_" and at least 32 base62
	// characters. With a StatePath that already exists it is used only to
	// report AdminToken, and only if it matches the stored admin token.
	AdminToken string
	// ControlToken is the secret that the test controls under /_local/ take
	// as a bearer token; empty generates one. It is no API token: it never
	// works on /api, no API token works on /_local/, and it is never stored.
	ControlToken string
	// FleetID is the id of the seeded fleet; empty generates a UUID.
	FleetID string
	// StatePath, if set, is the SQLite database the state is loaded from and
	// written to: every acknowledged change is committed before its response.
	// A JSON state file of the format before the database is imported.
	StatePath string
	// AuditRetention bounds the audit log; the zero value means
	// DefaultRetention, and a negative field means no bound of that kind.
	AuditRetention Retention
	// FailRate is the probability in [0, 1] of injecting a fault into an /api request.
	FailRate float64
	// Latency is added before every /api request is handled.
	Latency time.Duration
	// RateLimit is a global limit in requests per second; 0 turns it off.
	RateLimit float64
	// Seed seeds the random fault generator.
	Seed int64
	// Logger receives one line per request; nil discards them.
	Logger *log.Logger
	// Now is the base clock; nil means time.Now. The server clock is this plus
	// the offset moved by AdvanceClock.
	Now func() time.Time
}

// Server is a cmdop-local server. It implements http.Handler.
type Server struct {
	logger        *log.Logger
	baseNow       func() time.Time
	statePath     string
	adminSecret   string // "" when unknown (state loaded without the matching flag)
	controlSecret string

	mu sync.Mutex // guards st and db
	st *store
	db *stateDB // nil in memory

	faults *faultInjector
	stats  *statsRecorder

	revokeAfter *revokeTrigger // guarded by mu; set by RevokeAfterWrites
}

// New creates a Server, loading StatePath if it holds a state and seeding otherwise.
func New(opts Options) (*Server, error) {
	if opts.AdminToken != "" && !validSecret(opts.AdminToken) {
		return nil, errors.New(`cmdoplocal: the admin token must be "cmdop_" followed by at least 32 base62 characters`)
	}
	if opts.ControlToken != "" && !validControlToken(opts.ControlToken) {
		return nil, errors.New("cmdoplocal: the control token must be 32 to 256 letters, digits, '_' or '-'")
	}
	if opts.FleetID != "" {
		if err := checkFleetID(opts.FleetID); err != nil {
			return nil, fmt.Errorf("cmdoplocal: %w", err)
		}
	}
	cfg := FaultConfig{FailRate: opts.FailRate, Latency: opts.Latency, RateLimit: opts.RateLimit}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("cmdoplocal: %w", err)
	}
	s := &Server{
		logger:        opts.Logger,
		baseNow:       opts.Now,
		statePath:     opts.StatePath,
		controlSecret: opts.ControlToken,
		faults:        newFaultInjector(cfg, opts.Seed),
		stats:         newStatsRecorder(),
	}
	if s.baseNow == nil {
		s.baseNow = time.Now
	}
	if s.controlSecret == "" {
		s.controlSecret = newControlToken()
	}
	retention := opts.AuditRetention
	if retention == (Retention{}) {
		retention = DefaultRetention
	}

	var st *store
	var err error
	if s.statePath != "" {
		s.db, st, err = openState(s.statePath)
	} else {
		s.db, err = openDB("")
	}
	if err != nil {
		return nil, fmt.Errorf("cmdoplocal: %w", err)
	}
	{
		d := s.db
		if st != nil {
			s.st = st
			st.retention = retention
			st.touchMeta() // a commit, which prunes to this retention
			if err := s.commitLocked(); err != nil {
				_ = d.close()
				return nil, fmt.Errorf("cmdoplocal: pruning the audit log: %w", err)
			}
			admin := st.tokens[st.adminTokenID]
			if opts.AdminToken != "" {
				if hashesEqual(admin.SecretHash, hashSecret(opts.AdminToken)) {
					s.adminSecret = opts.AdminToken
				} else {
					s.logf("the given admin token does not match the one stored in %s; keeping the stored one", s.statePath)
				}
			}
			return s, nil
		}
	}

	s.adminSecret = opts.AdminToken
	if s.adminSecret == "" {
		s.adminSecret = newSecret()
	}
	fleetID := opts.FleetID
	if fleetID == "" {
		fleetID = uuid.NewString()
	}
	s.st = newStore()
	s.st.retention = retention
	s.st.seed(s.baseNow().UTC(), fleetID, s.adminSecret)
	if err := s.commitLocked(); err != nil {
		if s.db != nil {
			_ = s.db.close()
		}
		return nil, fmt.Errorf("cmdoplocal: saving state: %w", err)
	}
	return s, nil
}

// AdminToken returns the admin token's secret, or "" when it is not known: a
// state file keeps only its hash, so after a restart the secret is known only
// if Options.AdminToken supplied it.
func (s *Server) AdminToken() string { return s.adminSecret }

// FleetID returns the id of the seeded fleet.
func (s *Server) FleetID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.fleetID
}

// OwnerUserID returns the id of the seeded owner.
func (s *Server) OwnerUserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.ownerUserID
}

// ControlToken returns the secret that the test controls under /_local/ take.
func (s *Server) ControlToken() string { return s.controlSecret }

// Close saves any unsaved state and closes the state database. Every
// acknowledged write is already saved, so saving only matters for changes
// that were never acknowledged. The server must not be used after Close.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.commitLocked()
	if s.db != nil {
		if cerr := s.db.close(); err == nil {
			err = cerr
		}
		s.db = nil
	}
	return err
}

// commitLocked writes what changed since the last commit, in one
// transaction. s.mu must be held.
func (s *Server) commitLocked() error {
	if !s.st.pending.any() {
		return nil
	}
	if s.db == nil {
		return errors.New("the server is closed")
	}
	return s.db.save(s.st)
}

func (s *Server) logf(format string, args ...any) {
	if s.logger != nil {
		s.logger.Printf(format, args...)
	}
}

// call is one authenticated-or-not /api request being handled.
type call struct {
	r         *http.Request
	requestID string
	params    map[string]string
	body      []byte
	bodyErr   *apiError
	now       time.Time
	caller    *tokenRecord
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	buf := newBufferedResponse()
	buf.header.Set("X-Request-Id", reqID)

	drop := false
	if p := r.URL.Path; p == "/_local" || strings.HasPrefix(p, "/_local/") {
		s.serveLocal(buf, r, reqID)
	} else {
		drop = s.serveAPI(buf, r, reqID)
	}
	buf.header.Set("Date", s.Now().Format(http.TimeFormat))

	if drop {
		s.logRequest(r, "dropped", reqID, time.Since(start))
		dropConnection(w)
		return
	}
	buf.sendTo(w)
	s.logRequest(r, strconv.Itoa(buf.statusCode()), reqID, time.Since(start))
}

// serveAPI handles an /api request: statistics, faults, authentication, the
// route's handler, the token.used audit event and the state save, in that
// order. It reports whether the connection must be dropped instead of answered.
func (s *Server) serveAPI(w *bufferedResponse, r *http.Request, reqID string) (drop bool) {
	rt, params, allow := matchRoute(apiRoutes, r.Method, r.URL)
	routeKey := ""
	if rt != nil {
		routeKey = rt.method + " " + rt.pattern
	}
	s.stats.received(r.Method, routeKey)
	defer func() {
		if !drop {
			s.stats.responded(w.statusCode())
		}
	}()

	if d := s.faults.latency(); d > 0 {
		sleep(r.Context(), d)
	}
	fault, retryAfter := s.faults.decide()
	if fault != FaultNone {
		s.stats.fault(fault)
	}
	switch fault {
	case FaultUnavailable:
		writeError(w, errUnavailable())
		return false
	case FaultRateLimit:
		writeError(w, errRateLimit(retryAfter))
		return false
	case FaultDrop:
		drop = true
	}

	c := &call{r: r, requestID: reqID, params: params}
	if rt != nil && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
		c.body, c.bodyErr = readBody(w, r)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c.now = s.st.now(s.baseNow)
	// Authenticate before routing, as the real API does: an unknown path
	// tells nothing to a caller without a valid token.
	if err := s.authenticate(c); err != nil {
		writeError(w, err)
	} else {
		s.route(w, c, rt, allow)
		s.recordUse(c, w.statusCode())
		s.countWriteLocked(r.Method, w.statusCode())
	}
	if err := s.commitLocked(); err != nil {
		s.logf("saving state failed (request_id=%s): %v", reqID, err)
		w.reset()
		writeError(w, errInternal("The server could not save its state; retry the request."))
	}
	return drop
}

// route answers an authenticated /api request: its operation once the
// caller's scopes allow it, or why there is none.
func (s *Server) route(w http.ResponseWriter, c *call, rt *apiRoute, allow []string) {
	switch {
	case rt == nil && len(allow) > 0:
		writeError(w, methodNotAllowed(c.r.Method, allow...))
	case rt == nil:
		writeError(w, errNotFound(cmdopapi.ReasonRouteNotFound,
			"No API route matches %s %s; check the API base URL (it is the host, such as https://api.cmdop.com, without /api or a version) and the path.",
			c.r.Method, cmdopapi.Redact(maskPath(c.r.URL.EscapedPath()))))
	default:
		if err := authorize(c.caller, rt); err != nil {
			writeError(w, err)
			return
		}
		rt.handle(s, w, c)
	}
}

// serveLocal handles the test controls under /_local/. They need the control
// token, which no API token is and no revocation touches, and are neither
// counted, faulted nor rate limited. What they create is audited with the
// actor local-control.
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request, reqID string) {
	if err := s.authenticateControl(r); err != nil {
		writeError(w, err)
		return
	}
	rt, params, allow := matchRoute(controlRoutes, r.Method, r.URL)
	switch {
	case rt == nil && len(allow) > 0:
		writeError(w, methodNotAllowed(r.Method, allow...))
		return
	case rt == nil:
		writeError(w, errNotFound(cmdopapi.ReasonRouteNotFound,
			"No test control matches this path; see /_local/clock, /_local/faults, /_local/stats, /_local/members and /_local/fleets."))
		return
	}
	c := &call{r: r, requestID: reqID, params: params}
	if r.Method == http.MethodPost {
		if c.body, c.bodyErr = readBody(w, r); c.bodyErr != nil {
			writeError(w, c.bodyErr)
			return
		}
	}
	rt.handle(s, w, c)
}

// recordUse updates the caller's last_used_at and records token.used.
func (s *Server) recordUse(c *call, status int) {
	t := c.caller
	// The event's time, which is what a restart rebuilds last_used_at from:
	// a read writes nothing but this event.
	used := s.st.appendEvent(s.baseNow, s.eventFor(c, cmdopapi.ActionTokenUsed, t, t, status))
	t.LastUsedAt = &used
}

// eventFor builds an audit event for request c whose actor is the token
// actor and which concerns token subject.
func (s *Server) eventFor(c *call, action string, actor, subject *tokenRecord, status int) cmdopapi.Event {
	return cmdopapi.Event{
		Action:     action,
		Actor:      cmdopapi.Actor{Type: cmdopapi.ActorAPIToken, ID: actor.ID},
		TokenID:    subject.ID,
		FleetID:    subject.FleetID,
		RequestID:  c.requestID,
		SourceIP:   sourceIP(c.r),
		UserAgent:  c.r.UserAgent(),
		StatusCode: status,
	}
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// logRequest logs one request: never a header, a body, a query or a token.
func (s *Server) logRequest(r *http.Request, status, reqID string, d time.Duration) {
	if s.logger == nil {
		return
	}
	path := cmdopapi.Redact(maskPath(r.URL.EscapedPath()))
	s.logger.Printf("%s %s status=%s request_id=%s duration=%s", r.Method, path, status, reqID, d.Round(time.Microsecond))
}
