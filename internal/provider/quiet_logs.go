package provider

import "os"

// QuietUnlessLogging switches the plugin SDK's logs off when Terraform is
// not collecting them. Terraform keeps a provider's logs only when TF_LOG or
// TF_LOG_PROVIDER asks for them; without that, the SDK would still format
// every TRACE line for Terraform to parse and drop, which measured a third
// of the provider's CPU in a plan of 1,000 tokens (see bench/README.md).
// The provider's main and the benchmark's profiling build (bench/provider)
// call it first.
func QuietUnlessLogging() {
	levels := []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_CMDOP", "TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}
	for _, name := range levels {
		if os.Getenv(name) != "" {
			return
		}
	}
	for _, name := range levels[1:] {
		_ = os.Setenv(name, "off")
	}
}
