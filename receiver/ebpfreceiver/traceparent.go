package ebpfreceiver

import (
	"encoding/hex"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseTraceparent reads a W3C trace-context `traceparent` header value
// ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"). ok is false for
// anything malformed, an all-zero id, or version ff.
func parseTraceparent(v string) (traceID pcommon.TraceID, parent pcommon.SpanID, sampled bool, ok bool) {
	// Future versions may append fields after the flags ("-..."); version 00 may not.
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return traceID, parent, false, false
	}
	var ver [1]byte
	if _, err := hex.Decode(ver[:], []byte(v[0:2])); err != nil || ver[0] == 0xff {
		return traceID, parent, false, false
	}
	if ver[0] == 0 && len(v) != 55 {
		return traceID, parent, false, false
	}
	if len(v) > 55 && v[55] != '-' {
		return traceID, parent, false, false
	}
	if !isLowerHex(v[3:35]) || !isLowerHex(v[36:52]) || !isLowerHex(v[53:55]) {
		return traceID, parent, false, false
	}
	var flags [1]byte
	_, _ = hex.Decode(traceID[:], []byte(v[3:35]))
	_, _ = hex.Decode(parent[:], []byte(v[36:52]))
	_, _ = hex.Decode(flags[:], []byte(v[53:55]))
	if traceID.IsEmpty() || parent.IsEmpty() {
		return pcommon.TraceID{}, pcommon.SpanID{}, false, false
	}
	return traceID, parent, flags[0]&1 == 1, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
