package cmdoplocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

// stateFile is the on-disk form of the store. It holds no secret: tokens are
// kept as SHA-256 hashes and idempotency records without their responses.
type stateFile struct {
	Version       int              `json:"version"`
	OwnerUserID   string           `json:"owner_user_id"`
	FleetID       string           `json:"fleet_id"`
	AdminTokenID  string           `json:"admin_token_id"`
	ClockOffsetNS int64            `json:"clock_offset_ns"`
	LastNow       time.Time        `json:"last_now"`
	EventSeq      uint64           `json:"event_seq"`
	MemberSeq     int              `json:"member_seq"`
	Users         []*user          `json:"users"`
	Fleets        []*fleet         `json:"fleets"`
	Tokens        []*tokenRecord   `json:"tokens"`
	Events        []cmdopapi.Event `json:"events"`
	Idempotency   []*idemRecord    `json:"idempotency"`
}

func (st *store) snapshot() *stateFile {
	sf := &stateFile{
		Version:       stateVersion,
		OwnerUserID:   st.ownerUserID,
		FleetID:       st.fleetID,
		AdminTokenID:  st.adminTokenID,
		ClockOffsetNS: int64(st.clockOffset),
		LastNow:       st.lastNow,
		EventSeq:      st.eventSeq,
		MemberSeq:     st.memberSeq,
		Events:        st.events,
	}
	for _, u := range st.users {
		sf.Users = append(sf.Users, u)
	}
	sort.Slice(sf.Users, func(i, j int) bool { return sf.Users[i].ID < sf.Users[j].ID })
	for _, f := range st.fleets {
		sf.Fleets = append(sf.Fleets, f)
	}
	sort.Slice(sf.Fleets, func(i, j int) bool { return sf.Fleets[i].ID < sf.Fleets[j].ID })
	for _, t := range st.tokens {
		sf.Tokens = append(sf.Tokens, t)
	}
	slices.SortFunc(sf.Tokens, compareTokens)
	for _, r := range st.idem {
		sf.Idempotency = append(sf.Idempotency, r)
	}
	sort.Slice(sf.Idempotency, func(i, j int) bool {
		a, b := sf.Idempotency[i], sf.Idempotency[j]
		if a.CallerTokenID != b.CallerTokenID {
			return a.CallerTokenID < b.CallerTokenID
		}
		return a.Key < b.Key
	})
	return sf
}

// restore rebuilds a store, indexes included, from a state file.
func restore(sf *stateFile) (*store, error) {
	if sf.Version != stateVersion {
		return nil, fmt.Errorf("unsupported state file version %d (want %d)", sf.Version, stateVersion)
	}
	st := newStore()
	st.ownerUserID = sf.OwnerUserID
	st.fleetID = sf.FleetID
	st.adminTokenID = sf.AdminTokenID
	st.clockOffset = time.Duration(sf.ClockOffsetNS)
	st.lastNow = sf.LastNow
	st.eventSeq = sf.EventSeq
	st.memberSeq = sf.MemberSeq
	st.events = sf.Events
	for _, u := range sf.Users {
		st.users[u.ID] = u
	}
	for _, f := range sf.Fleets {
		if f.Members == nil {
			f.Members = map[string]string{}
		}
		st.fleets[f.ID] = f
	}
	for _, t := range sf.Tokens {
		st.addToken(t)
	}
	for _, r := range sf.Idempotency {
		st.idem[idemKey{caller: r.CallerTokenID, key: r.Key}] = r
	}
	if st.users[st.ownerUserID] == nil || st.fleets[st.fleetID] == nil || st.tokens[st.adminTokenID] == nil {
		return nil, errors.New("the state file lacks its owner, fleet or admin token")
	}
	return st, nil
}

// loadState reads the state file at path. It returns an error satisfying
// errors.Is(err, os.ErrNotExist) when there is no such file.
func loadState(path string) (*store, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("reading state file %s: %w", path, err)
	}
	st, err := restore(&sf)
	if err != nil {
		return nil, fmt.Errorf("reading state file %s: %w", path, err)
	}
	return st, nil
}

// saveState writes the store to path atomically and durably.
func saveState(path string, st *store) error {
	data, err := json.Marshal(st.snapshot())
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic replaces path with data so that a crash at any moment leaves
// either the old or the new content: it writes a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
