package cmdoplocal

import (
	"net/http"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// The HTTP handlers of the test controls under /_local/ (controlRoutes
// lists them), each over its Go method in controls.go.

type clockResponse struct {
	Now time.Time `json:"now"`
}

func (s *Server) getClock(w http.ResponseWriter, _ *call) {
	writeJSON(w, http.StatusOK, clockResponse{Now: s.Now()})
}

func (s *Server) advanceClock(w http.ResponseWriter, c *call) {
	var req struct {
		Advance string `json:"advance"`
	}
	if err := decodeJSON(c.body, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Advance == "" {
		writeError(w, errValidation("advance", `advance is required, for example {"advance": "90d"} or {"advance": "36h"}.`))
		return
	}
	d, err := parseDuration(req.Advance)
	if err != nil {
		writeError(w, errValidation("advance", "%v.", err))
		return
	}
	now, err := s.AdvanceClock(d)
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, clockResponse{Now: now})
}

func (s *Server) getFaults(w http.ResponseWriter, _ *call) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) setFaults(w http.ResponseWriter, c *call) {
	var req faultConfigJSON
	if err := decodeJSON(c.body, &req); err != nil {
		writeError(w, err)
		return
	}
	cfg, err := req.config()
	if err != nil {
		writeError(w, errValidation("latency", "%v.", err))
		return
	}
	if err := s.SetFaults(cfg); err != nil {
		writeError(w, asAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) getStats(w http.ResponseWriter, _ *call) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) resetStats(w http.ResponseWriter, _ *call) {
	s.ResetStats()
	w.WriteHeader(http.StatusNoContent)
}

// localEvent is the request part of the audit events a control records.
func localEvent(c *call, status int) cmdopapi.Event {
	return cmdopapi.Event{RequestID: c.requestID, SourceIP: sourceIP(c.r), UserAgent: c.r.UserAgent(), StatusCode: status}
}

func (s *Server) addMember(w http.ResponseWriter, c *call) {
	var req struct {
		FleetID string `json:"fleet_id"`
		Role    string `json:"role"`
		Name    string `json:"name"`
	}
	if err := decodeJSON(c.body, &req); err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	userID, tokenID, secret, err := s.addMemberLocked(req.FleetID, req.Role, req.Name, localEvent(c, http.StatusCreated))
	s.mu.Unlock()
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"user_id": userID, "token_id": tokenID, "token": secret})
}

func (s *Server) removeMember(w http.ResponseWriter, c *call) {
	s.mu.Lock()
	err := s.removeMemberLocked(c.params["user_id"], localEvent(c, http.StatusNoContent))
	s.mu.Unlock()
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) addFleet(w http.ResponseWriter, c *call) {
	var req struct {
		FleetID string `json:"fleet_id"`
	}
	if err := decodeJSON(c.body, &req); err != nil {
		writeError(w, err)
		return
	}
	id, err := s.AddFleet(req.FleetID)
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"fleet_id": id})
}
