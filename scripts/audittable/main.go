// Command audittable prints CMDOP audit events as a table, oldest first.
//
// It reads JSON on standard input: a page from GET /api/audit/events
// ({"items": [...]}), or a bare list of events, in the API's shape (with an
// "actor" object) or the cmdop_audit_events data source's (actor_type and
// actor_id), as `terraform output -json` prints it.
//
//	curl -s -H "Authorization: Bearer $CMDOP_TOKEN" \
//	  "$CMDOP_API_BASE_URL/api/audit/events?fleet_id=$CMDOP_FLEET_ID&limit=50" |
//	  go run ./scripts/audittable -token "$OLD_ID=old" -token "$NEW_ID=new"
//
// With -token flags only the events about those tokens are shown, and the
// tokens are labelled wherever they appear. make demo uses it to show a
// rotation's audit trail.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

type event struct {
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	Actor  *struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"actor"`
	ActorType  string `json:"actor_type"`
	ActorID    string `json:"actor_id"`
	TokenID    string `json:"token_id"`
	FleetID    string `json:"fleet_id"`
	RequestID  string `json:"request_id"`
	SourceIP   string `json:"source_ip"`
	StatusCode int    `json:"status_code"`
}

// labels maps token IDs to the names given with -token.
type labels map[string]string

func (l labels) String() string { return fmt.Sprint(map[string]string(l)) }

func (l labels) Set(s string) error {
	id, label, _ := strings.Cut(s, "=")
	if id == "" {
		return errors.New("want TOKEN_ID or TOKEN_ID=LABEL")
	}
	l[id] = label
	return nil
}

func main() {
	tokens := labels{}
	flag.Var(tokens, "token", "show only events about this token, labelled: TOKEN_ID[=LABEL]; repeatable")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "Usage: audittable [-token ID[=LABEL]]... < events.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, tokens); err != nil {
		fmt.Fprintln(os.Stderr, "audittable:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, tokens labels) error {
	events, err := decode(in)
	if err != nil {
		return err
	}
	var shown []event
	for _, e := range events {
		if len(tokens) == 0 || hasKey(tokens, e.TokenID) {
			shown = append(shown, e)
		}
	}
	// The API lists newest first; a trail reads better oldest first.
	sort.SliceStable(shown, func(i, j int) bool {
		if !shown[i].Time.Equal(shown[j].Time) {
			return shown[i].Time.Before(shown[j].Time)
		}
		return shown[i].ID < shown[j].ID
	})
	if len(shown) == 0 {
		_, err := fmt.Fprintln(out, "(no audit events)")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tACTION\tTOKEN\tACTOR\tSTATUS\tREQUEST ID")
	for _, e := range shown {
		actorType, actorID := e.ActorType, e.ActorID
		if e.Actor != nil {
			actorType, actorID = e.Actor.Type, e.Actor.ID
		}
		token, actor := tokens.name(e.TokenID), tokens.name(actorID)
		status := "-"
		if e.StatusCode != 0 {
			status = fmt.Sprint(e.StatusCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Time.UTC().Format("2006-01-02 15:04:05.000"), e.Action, token,
			strings.TrimSpace(actorType+" "+actor), status, e.RequestID)
	}
	return tw.Flush()
}

// decode accepts an API page or a bare list of events.
func decode(in io.Reader) ([]event, error) {
	raw, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	var list []event
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var page struct {
		Items *[]event `json:"items"`
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, fmt.Errorf("standard input is not a list of audit events: %w", err)
	}
	if page.Error != nil {
		return nil, fmt.Errorf("the API answered with an error (%s): %s", page.Error.Code, page.Error.Message)
	}
	if page.Items == nil {
		return nil, errors.New(`standard input has no "items": expected the body of GET /api/audit/events`)
	}
	return *page.Items, nil
}

// name shows a token (or actor) ID abbreviated, after its label if it has one.
func (l labels) name(id string) string {
	if label := l[id]; label != "" {
		return label + " " + short(id)
	}
	return short(id)
}

// short abbreviates a UUID-like ID to its first 8 characters.
func short(id string) string {
	if len(id) > 12 {
		return id[:8] + "…"
	}
	return id
}

func hasKey(m labels, k string) bool {
	_, ok := m[k]
	return ok
}
