package fwcompat

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/modfile"
)

const frameworkModule = "github.com/hashicorp/terraform-plugin-framework"

// checkedFrameworkVersion is the terraform-plugin-framework version the
// workarounds of this package were last checked against. Move it only once
// everything that recheckFramework lists has been looked at.
const checkedFrameworkVersion = "v1.19.0"

// recheckFramework says what to look at before checkedFrameworkVersion may
// move to version.
func recheckFramework(version string) string {
	return "terraform-plugin-framework is " + version + ", but the workarounds in internal/fwcompat were checked against " +
		checkedFrameworkVersion + " (dependabot bumps it weekly). Before moving checkedFrameworkVersion " +
		"(internal/fwcompat/framework_version_test.go), re-check, in the framework's source at " + version + ":\n" +
		"  1. context release (internal/fwcompat/context_release.go): run the retained-contexts canary, " +
		"go test ./internal/fwcompat -run TestContextRelease_frameworkStillLeaks -count=1. If it fails, the framework " +
		"no longer keeps finished requests' contexts: delete context_release.go and its test, and serve with " +
		"providerserver.Serve and providerserver.NewProtocol6WithError again (internal/provider/provider.go, " +
		"internal/provider/provider_test.go, bench/floor/main.go). If it passes, read internal/proto6server/serve.go " +
		"(registerContext, StopProvider): StopProvider must still do nothing but cancel the registered contexts (no " +
		"stopped flag, nothing that fails later requests), and every request must still register its context at " +
		"its start; then run go test ./internal/fwcompat -run TestContextRelease -count=1 -race, and the " +
		"provider's acceptance tests (TF_ACC=1, make testacc) on each CLI, which all run through the wrapper.\n" +
		"  2. the model codec (internal/fwcompat/model_codec.go): read internal/reflect (into.go, outof.go, " +
		"struct.go, helpers.go) and tfsdk's Get and Set: fields still mapped one to one by their tfsdk tags, " +
		"promoted fields included, attr.Value fields taken as they are, and xattr.ValidateableAttribute the only " +
		"check beyond the type (the codec's comment lists what it relies on); run go test ./internal/fwcompat " +
		"-run TestModelCodec, and go test ./internal/fwcompat -run '^$' -bench 'BenchmarkModel' -benchmem: if the " +
		"framework and the codec cost about the same, the codec can go (back to src.Get and dst.Set in " +
		"internal/provider/resource_token.go).\n" +
		"  3. then the comments naming " + checkedFrameworkVersion + " in internal/fwcompat, and bench/README.md " +
		"(\"Upstream\"), where the measurements of both workarounds are."
}

// frameworkVersionIn is the terraform-plugin-framework version that the
// module of the go.mod at name builds with: what it requires, or what it
// replaces it by. (A test binary's debug.ReadBuildInfo lists no
// dependencies, so go.mod, which -mod=readonly keeps in step with the build,
// is where the version is read.)
func frameworkVersionIn(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax(name, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var version string
	for _, r := range f.Require {
		if r.Mod.Path == frameworkModule {
			version = r.Mod.Version
		}
	}
	for _, r := range f.Replace {
		if r.Old.Path == frameworkModule {
			version = "replaced by " + r.New.Path + " " + r.New.Version
		}
	}
	if version == "" {
		t.Fatalf("%s requires no %s, but internal/fwcompat is built in its module", name, frameworkModule)
	}
	return version
}

// The framework that the provider (go.mod) and the benchmark, its own module
// that builds this package too (bench/go.mod, bench/floor and
// bench/provider), build with is the one the workarounds were checked
// against. Dependabot bumps each on its own.
func TestFrameworkVersion(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"go.mod", "bench/go.mod"} {
		if version := frameworkVersionIn(t, filepath.Join("..", "..", filepath.FromSlash(name))); version != checkedFrameworkVersion {
			t.Errorf("%s: %s", name, recheckFramework(version))
		}
	}
}
