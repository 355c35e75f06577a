package cmdoplocal_test

import (
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []cmdoplocal.Options{
		{AdminToken: "secret"},
		{FailRate: 2},
		{Latency: -time.Second},
		{RateLimit: -1},
	} {
		if _, err := cmdoplocal.New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}
