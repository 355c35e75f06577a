package provider

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// FuzzParseImportID: parseImportID never panics, for both kinds. On success
// the token ID is a UUID with no slash; for fleet tokens the fleet ID is
// printable ASCII with no slash or blank, and fleetID/tokenID is the input; for
// personal tokens the token ID is the whole input. A fleet import ID is
// accepted exactly when its part after the first slash is an accepted
// personal import ID. Every error quotes the input, names the resource type
// and gives the expected format.
func FuzzParseImportID(f *testing.F) {
	const id = "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"
	for _, seed := range []string{
		id, "fleet-1/" + id, "f/" + id, "/" + id, "fleet-1/", "fleet-1", "", "/",
		"fleet 1/" + id, "fleet\t1/" + id, "fleet\n/" + id, " /" + id, "a/b/" + id, "fleet-1/" + id + "/",
		"fleet-1//" + id, "fleet-1/" + strings.ToUpper(id), "fleet-1/{" + id + "}", "fleet-1/urn:uuid:" + id,
		"fleet-1/" + strings.ReplaceAll(id, "-", ""), "fleet-1/" + id + " ", "fleet-1/ " + id, id[:35], id + "0",
		"flëet/" + id, "\xff/" + id, "fleet\x00/" + id, "fleet-1/" + id + "\x00",
		"fleet-1/00000000-0000-0000-0000-000000000000", "../" + id, "fleet-1\\" + id,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var personalOK bool
		for _, kind := range []tokenKind{personalToken, fleetToken} {
			fleetID, tokenID, err := parseImportID(kind, in)
			format := "<token_id>"
			if kind.fleet {
				format = "<fleet_id>/<token_id>"
			}
			if err != nil {
				msg := err.Error()
				if fleetID != "" || tokenID != "" {
					t.Fatalf("%s %q: error %v with results %q, %q", kind.label, in, err, fleetID, tokenID)
				}
				for _, want := range []string{"Expected " + format, strconv.Quote(in), "terraform import cmdop_" + kind.typeSuffix + ".example " + format} {
					if !strings.Contains(msg, want) {
						t.Fatalf("%s %q: error %q lacks %q", kind.label, in, msg, want)
					}
				}
			} else {
				if _, uerr := uuid.Parse(tokenID); uerr != nil || strings.Contains(tokenID, "/") || tokenID == "" {
					t.Fatalf("%s %q: accepted token ID %q is not a UUID without a slash", kind.label, in, tokenID)
				}
				if kind.fleet {
					if !cmdopapi.FleetIDPattern.MatchString(fleetID) {
						t.Fatalf("fleet token %q: accepted fleet ID %q", in, fleetID)
					}
					// The token ID comes back canonical (lower case).
					if !strings.EqualFold(fleetID+"/"+tokenID, in) {
						t.Fatalf("fleet token %q: %q/%q does not rebuild the input", in, fleetID, tokenID)
					}
				} else if fleetID != "" || !strings.EqualFold(tokenID, in) {
					t.Fatalf("personal token %q: got %q, %q", in, fleetID, tokenID)
				}
			}

			if !kind.fleet {
				personalOK = err == nil
				continue
			}
			// Consistency: the fleet form is "<fleet ID>/" and a personal
			// import ID, where a fleet ID is printable ASCII without blanks.
			prefix, rest, cut := strings.Cut(in, "/")
			_, _, restErr := parseImportID(personalToken, rest)
			want := cut && cmdopapi.FleetIDPattern.MatchString(prefix) && restErr == nil
			if (err == nil) != want {
				t.Fatalf("fleet token %q: accepted=%v, but fleet %q and token part %q (personal: %v) say %v", in, err == nil, prefix, rest, restErr, want)
			}
			// A personal import ID never holds a slash.
			if personalOK && strings.Contains(in, "/") {
				t.Fatalf("personal token %q: accepted an ID with a slash", in)
			}
		}
	})
}
