//go:build !linux

package afxdp

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestOpenUnsupported(t *testing.T) {
	_, err := Open("eth0", Config{})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), runtime.GOOS) {
		t.Errorf("Open = %v, want ErrUnavailable naming %s", err, runtime.GOOS)
	}
}
