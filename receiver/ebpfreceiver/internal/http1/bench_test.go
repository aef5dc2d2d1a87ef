package http1

import (
	"strings"
	"testing"
)

type discardSink struct{ pool *Pool }

func (s discardSink) Message(_ *Parser, m *Message) { s.pool.Put(m) }
func (discardSink) Lost(*Parser)                    {}
func (discardSink) RequestMethod(*Parser) string    { return "GET" }

func benchParse(b *testing.B, kind Kind, data []byte, chunk int) {
	pool := &Pool{}
	p := NewParser(kind, Config{}, discardSink{pool}, pool, nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < len(data); j += chunk {
			p.Write(data[j:min(j+chunk, len(data))], int64(i))
		}
	}
}

func BenchmarkRequestParser(b *testing.B) {
	req := []byte(strings.Repeat(reqGet+reqPost, 4))
	b.Run("whole", func(b *testing.B) { benchParse(b, KindRequest, req, len(req)) })
	b.Run("chunks64", func(b *testing.B) { benchParse(b, KindRequest, req, 64) })
}

func BenchmarkResponseParser(b *testing.B) {
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("100\r\n"+strings.Repeat("x", 256)+"\r\n", 8) + "0\r\n\r\n"
	resp := []byte(resp200 + chunked)
	b.Run("whole", func(b *testing.B) { benchParse(b, KindResponse, resp, len(resp)) })
	b.Run("chunks64", func(b *testing.B) { benchParse(b, KindResponse, resp, 64) })
}

func BenchmarkResync(b *testing.B) {
	junk := []byte(strings.Repeat("some body text without a request line, GET HTTP/1.1 200\n", 64))
	pool := &Pool{}
	p := NewParser(KindUnknown, Config{}, discardSink{pool}, pool, nil)
	p.MidStream()
	b.SetBytes(int64(len(junk)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Write(junk, 1)
	}
}
