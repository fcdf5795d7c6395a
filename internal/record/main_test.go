package record

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutines of its own; goleak checks that none of
// its pooled encoders and decoders (nor the clients used in tests) leave
// one behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
