package cmdop_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// BenchmarkListPage200 is the cost of one full listing page (200 tokens)
// through cmdop-local, contract check of the answer included: the read
// that serves a plan's refresh of 200 tokens.
func BenchmarkListPage200(b *testing.B) {
	api := localtest.Start(b, cmdoplocal.Options{})
	ctx := context.Background()
	for i := range 200 {
		if _, err := api.Admin.CreateToken(ctx, api.FleetID, cmdopapi.CreateTokenRequest{Name: fmt.Sprint("t", i), Scopes: []string{"machines:read"}}, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := api.Admin.ListTokens(ctx, api.FleetID, 0, cmdop.MaxPerPage); err != nil {
			b.Fatal(err)
		}
	}
}
