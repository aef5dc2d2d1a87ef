package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Shape of the generated http_events rows.
const (
	numServices     = 20
	pathsPerService = 10 // 200 paths in all
	podsPerService  = 3
	numRemoteAddrs  = 512
	span            = 4 * time.Minute // rows end at "now"; PxL's default window is -5m
)

// dataset is the generated rows, column by column, in time order. String
// columns hold indexes into the pools below.
type dataset struct {
	n       int
	start   int64 // time_ of row 0; row i is at start + i*step
	step    int64
	svc     []uint8
	pod     []uint8 // index into pods (service*podsPerService + k)
	path    []uint16
	method  []uint8
	status  []int16
	latency []int64
	raddr   []uint16
	rport   []uint16
	reqSize []int32
	rspSize []int32

	services, namespaces, exes   []string
	pods, upids, podIPs, contIDs []string
	pids                         []int64
	paths                        []string
	methods                      []string
	remoteAddrs                  []string
	reqHeaders, respHeaders      []string // per service
	reqBodies                    []string
	svcMedianMs, svcErrRate      []float64
	svcWeight                    []float64
	statusMessage                map[int16]string
	traceSeed1, traceSeed2       uint64
	truth                        map[string]truthAgg
	errRows                      int
	genTime                      time.Duration
}

// truthAgg is the exact answer of the benchmark query for one service,
// computed while generating.
type truthAgg struct {
	n   int64
	sum float64
}

// generate builds n rows ending at now. The same seed gives the same rows.
func generate(n int, now time.Time, seed uint64) *dataset {
	t0 := time.Now()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	d := &dataset{n: n, traceSeed1: seed + 1, traceSeed2: seed + 2}
	d.step = int64(span) / int64(n)
	if d.step == 0 {
		d.step = 1
	}
	d.start = now.UnixNano() - int64(n)*d.step

	// Services: skewed traffic (Zipf-like), medians from 2 ms to ~80 ms,
	// error rates varying 0.3x..2x around 5% (normalised below).
	var wsum float64
	for s := range numServices {
		name := fmt.Sprintf("svc-%s", serviceNames[s])
		d.services = append(d.services, name)
		d.namespaces = append(d.namespaces, []string{"shop", "payments", "platform", "search"}[s%4])
		d.exes = append(d.exes, "/app/"+serviceNames[s])
		w := 1 / math.Pow(float64(s+1), 0.8)
		d.svcWeight = append(d.svcWeight, w)
		wsum += w
		d.svcMedianMs = append(d.svcMedianMs, 2*math.Pow(40, float64((s*7)%numServices)/float64(numServices-1)))
		d.svcErrRate = append(d.svcErrRate, 0.3+1.7*float64(s%7)/6)
		for k := range podsPerService {
			pod := fmt.Sprintf("%s-%08x-%05x", name, r.Uint32(), r.Uint32()&0xfffff)
			pid := int64(1000 + r.IntN(60000))
			d.pods = append(d.pods, pod)
			d.pids = append(d.pids, pid)
			d.upids = append(d.upids, fmt.Sprintf("%d:%d", pid, now.Add(-time.Duration(1+s+k)*time.Hour).UnixNano()))
			d.podIPs = append(d.podIPs, fmt.Sprintf("10.%d.%d.%d", 1+s/8, s%8*32+k, 2+r.IntN(250)))
			d.contIDs = append(d.contIDs, fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()))
		}
		d.reqHeaders = append(d.reqHeaders, fmt.Sprintf(`{"Accept":"application/json","Host":"%s:8080","User-Agent":"Go-http-client/1.1","X-Request-Id":"%016x"}`, name, r.Uint64()))
		d.respHeaders = append(d.respHeaders, `{"Content-Type":"application/json","Server":"envoy","Vary":"Accept-Encoding"}`)
	}
	var errMean float64
	for s := range numServices {
		d.svcWeight[s] /= wsum
		errMean += d.svcWeight[s] * d.svcErrRate[s]
	}
	for s := range numServices {
		d.svcErrRate[s] *= 0.05 / errMean
	}
	cum := make([]float64, numServices)
	acc := 0.0
	for s := range numServices {
		acc += d.svcWeight[s]
		cum[s] = acc
	}
	resources := []string{"users", "orders", "items", "carts", "payments", "invoices", "sessions", "search", "reviews", "stock"}
	for s := range numServices {
		for p := range pathsPerService {
			res := resources[(s+p)%len(resources)]
			switch p % 4 {
			case 0:
				d.paths = append(d.paths, fmt.Sprintf("/api/v%d/%s", 1+s%3, res))
			case 1:
				d.paths = append(d.paths, fmt.Sprintf("/api/v%d/%s/%d", 1+s%3, res, 1000+r.IntN(9000)))
			case 2:
				d.paths = append(d.paths, fmt.Sprintf("/api/v%d/%s/%d/history?limit=%d", 1+s%3, res, 1000+r.IntN(9000), 10*(1+r.IntN(5))))
			default:
				d.paths = append(d.paths, fmt.Sprintf("/%s/%s/healthz", serviceNames[s], res))
			}
		}
	}
	d.methods = []string{"GET", "POST", "PUT", "DELETE"}
	for i := range numRemoteAddrs {
		d.remoteAddrs = append(d.remoteAddrs, fmt.Sprintf("10.%d.%d.%d", 1+i%3, i/256+64, i%256))
	}
	d.reqBodies = []string{"", `{"quantity":1}`, `{"query":"shoes","page":2}`, `{"user":"u-1234","action":"checkout"}`}
	d.statusMessage = map[int16]string{200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
		304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
		500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

	d.svc = make([]uint8, n)
	d.pod = make([]uint8, n)
	d.path = make([]uint16, n)
	d.method = make([]uint8, n)
	d.status = make([]int16, n)
	d.latency = make([]int64, n)
	d.raddr = make([]uint16, n)
	d.rport = make([]uint16, n)
	d.reqSize = make([]int32, n)
	d.rspSize = make([]int32, n)
	d.truth = map[string]truthAgg{}
	const sigma = 0.9
	for i := range n {
		u := r.Float64()
		s := 0
		for s < numServices-1 && u > cum[s] {
			s++
		}
		d.svc[i] = uint8(s)
		d.pod[i] = uint8(s*podsPerService + r.IntN(podsPerService))
		// Paths: the first paths of a service get most of the traffic.
		p := min(pathsPerService-1, int(r.ExpFloat64()*2.5))
		d.path[i] = uint16(s*pathsPerService + p)
		m := r.IntN(100)
		switch {
		case m < 70:
			d.method[i] = 0
		case m < 88:
			d.method[i] = 1
		case m < 96:
			d.method[i] = 2
		default:
			d.method[i] = 3
		}
		var st int16
		lat := math.Exp(math.Log(d.svcMedianMs[s]*1e6) + sigma*r.NormFloat64())
		if v := r.Float64(); v < d.svcErrRate[s] {
			st = []int16{500, 500, 500, 500, 500, 502, 502, 503, 503, 504}[r.IntN(10)]
			if st == 504 {
				lat = 30e9 * (0.9 + 0.2*r.Float64()) // gateway timeouts
			} else {
				lat *= 1.5
			}
		} else {
			switch v := r.IntN(100); {
			case v < 3:
				st = []int16{400, 401, 404, 404, 429}[r.IntN(5)]
			case v < 5:
				st = []int16{301, 304}[r.IntN(2)]
			case v < 12 && d.method[i] == 1:
				st = 201
			case v < 14 && d.method[i] == 3:
				st = 204
			default:
				st = 200
			}
		}
		d.status[i] = st
		d.latency[i] = max(1000, int64(lat))
		d.raddr[i] = uint16(r.IntN(numRemoteAddrs))
		d.rport[i] = uint16(32768 + r.IntN(28000))
		if d.method[i] != 0 {
			d.reqSize[i] = int32(len(d.reqBodies[1+r.IntN(3)]))
		}
		d.rspSize[i] = int32(math.Exp(6 + 1.5*r.NormFloat64()))
		if st >= 500 {
			d.errRows++
			t := d.truth[d.services[s]]
			t.n++
			t.sum += float64(d.latency[i])
			d.truth[d.services[s]] = t
		}
	}
	d.genTime = time.Since(t0)
	return d
}

var serviceNames = []string{"frontend", "cart", "checkout", "payment", "shipping", "email", "currency",
	"recommendation", "ad", "catalog", "auth", "users", "search", "inventory", "pricing", "reviews",
	"notifications", "gateway", "orders", "billing"}
