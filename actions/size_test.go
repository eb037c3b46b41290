package actions

import (
	"testing"
	"unsafe"
)

// TestActionSize keeps Action small: a List is walked per packet, and
// large arguments belong behind pointers (see Set).
func TestActionSize(t *testing.T) {
	if n := unsafe.Sizeof(Action{}); n > 176 {
		t.Errorf("Action is %d bytes, want at most 176", n)
	}
}
