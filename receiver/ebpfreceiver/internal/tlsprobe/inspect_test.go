package tlsprobe

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegABI(t *testing.T) {
	for v, want := range map[string]bool{
		"go1.16.15": false, "go1.17": true, "go1.21.3": true, "go1.26rc1": true,
		"go1.9": false, "go2.0": true, "devel go1.27-abc": true,
	} {
		assert.Equal(t, want, regABI(v), v)
	}
}

func TestRetOffsets(t *testing.T) {
	// mov %rax,%rbx; ret; xor %eax,%eax; ret; int3 padding
	got, err := retOffsets([]byte{0x48, 0x89, 0xc3, 0xc3, 0x31, 0xc0, 0xc3, 0xcc, 0xcc})
	require.NoError(t, err)
	assert.Equal(t, []uint64{3, 6}, got)
	// A 0xc3 byte inside an instruction is no RET: mov $0xc3,%eax.
	got, err = retOffsets([]byte{0xb8, 0xc3, 0x00, 0x00, 0x00, 0xc3})
	require.NoError(t, err)
	assert.Equal(t, []uint64{5}, got)
	// Undecodable bytes (push %es is invalid in 64-bit mode) refuse the function.
	_, err = retOffsets([]byte{0x06, 0xc3})
	assert.Error(t, err)
}

// TestInspectGo: crypto/tls.(*Conn).Write and Read are found in a Go binary
// with symbols and in a stripped one (pclntab), at the same places, and
// every RET offset holds a RET opcode; without a pclntab the stripped binary
// is reported untraceable.
func TestInspectGo(t *testing.T) {
	withSyms := buildGo(t, "gotls")
	stripped := buildGo(t, "gotls-s", "-ldflags=-s -w")
	a, err := Inspect(withSyms)
	require.NoError(t, err)
	b, err := Inspect(stripped)
	require.NoError(t, err)
	for _, tg := range []Target{a, b} {
		assert.Equal(t, KindGo, tg.Kind)
		assert.Regexp(t, `^go1\.`, tg.GoVersion)
		assert.NotEmpty(t, tg.GoWrite.Rets)
		assert.NotEmpty(t, tg.GoRead.Rets)
	}
	assert.Equal(t, a.GoWrite, b.GoWrite, "same code, found by symbols and by pclntab")
	assert.Equal(t, a.GoRead, b.GoRead)
	raw, err := os.ReadFile(stripped)
	require.NoError(t, err)
	for _, off := range append(append([]uint64(nil), b.GoWrite.Rets...), b.GoRead.Rets...) {
		assert.Equal(t, byte(0xc3), raw[off], "RET at %#x", off)
	}

	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Log("objcopy not installed: the no-pclntab case is not checked")
		return
	}
	noPcln := filepath.Join(t.TempDir(), "gotls-nopclntab")
	out, err := exec.Command(objcopy, "--remove-section", ".gopclntab", stripped, noPcln).CombinedOutput()
	require.NoError(t, err, "%s", out)
	_, err = Inspect(noPcln)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUntraceable), "%v", err)
	assert.Contains(t, err.Error(), "stripped Go binary")
}

// TestInspectOpenSSL: libssl.so.3 exports the four functions; libc has none.
func TestInspectOpenSSL(t *testing.T) {
	lib := "/usr/lib/x86_64-linux-gnu/libssl.so.3"
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing and CI is set (apt-get install libssl3)", lib)
		}
		t.Skip(lib, " missing")
	}
	tg, err := Inspect(lib)
	require.NoError(t, err)
	assert.Equal(t, KindOpenSSL, tg.Kind)
	for _, f := range sslFuncs {
		assert.NotZero(t, tg.SSL[f], f)
	}
	assert.True(t, isSSLName(lib))
	assert.False(t, isSSLName("/usr/lib/x86_64-linux-gnu/libssl3.so"), "NSS")

	tg, err = Inspect("/usr/lib/x86_64-linux-gnu/libc.so.6")
	require.NoError(t, err)
	assert.Equal(t, KindNone, tg.Kind)
}
