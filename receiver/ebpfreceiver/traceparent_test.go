package ebpfreceiver

import "testing"

func TestParseTraceparent(t *testing.T) {
	tid, pid, sampled, ok := parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if !ok || !sampled || tid.String() != "4bf92f3577b34da6a3ce929d0e0e4736" || pid.String() != "00f067aa0ba902b7" {
		t.Fatalf("got %v %v %v %v", tid, pid, sampled, ok)
	}
	for _, bad := range []string{
		"",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		if _, _, _, ok := parseTraceparent(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, _, _, ok := parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future"); !ok {
		t.Errorf("rejected a future version with extra fields")
	}
}

func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		tid, pid, _, ok := parseTraceparent(v)
		if ok && (tid.IsEmpty() || pid.IsEmpty()) {
			t.Fatalf("accepted empty ids from %q", v)
		}
	})
}
